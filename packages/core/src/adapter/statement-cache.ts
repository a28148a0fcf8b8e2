/** The compiled statements of every adapter over one schema shape, by shape key. */
import { statementName } from "../compiler.js";
import type { Statement } from "./statements.js";

/**
 * Compiled statements, shared by every adapter over the same schema shape
 * (creating stores per request stays cheap). Bounded: shapes come from code,
 * but a bound keeps a pathological caller from growing it without end.
 */
export class StatementCache {
	private static readonly bySchema = new Map<string, StatementCache>();
	private readonly entries = new Map<string, Statement>();
	private constructor(
		private readonly fingerprint: string,
		private readonly limit: number,
	) {}

	/** The cache shared by every adapter whose schema has this fingerprint. */
	static for(fingerprint: string): StatementCache {
		let cache = StatementCache.bySchema.get(fingerprint);
		if (!cache) {
			cache = new StatementCache(fingerprint, 2000);
			StatementCache.bySchema.set(fingerprint, cache);
		}
		return cache;
	}

	get(key: string, build: () => Statement): Statement {
		let statement = this.entries.get(key);
		if (!statement) {
			const built = build();
			statement = { ...built, name: statementName(`${this.fingerprint}\u0000${built.sql}`) };
			if (this.entries.size >= this.limit) {
				const oldest = this.entries.keys().next().value;
				if (oldest !== undefined) this.entries.delete(oldest);
			}
			this.entries.set(key, statement);
		}
		return statement;
	}
}
