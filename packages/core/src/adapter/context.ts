/**
 * What an adapter decides once per Better Auth options and shares with its
 * transaction adapters: the compiled schema, the statement cache, output
 * rules per model, how each table stores its array fields, and new ids.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import { generateId as defaultGenerateId } from "@better-auth/core/utils/id";
import type { Driver } from "../driver/contract.js";
import { type CompiledSchema, compileSchema, type ModelInfo, type SchemaOptions, withJsonbArrays } from "../model.js";
import { type OutputRule, outputRules } from "./output.js";
import type { FieldSealer, SealedModel } from "./sealed-fields.js";
import { StatementCache } from "./statement-cache.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Per-options state shared by an adapter and its transaction adapters. */
export class AdapterContext {
	readonly schema: CompiledSchema;
	readonly cache: StatementCache;
	private readonly rules = new Map<ModelInfo, { row: OutputRule[]; nested: OutputRule[] }>();
	private readonly storage = new Map<ModelInfo, ModelInfo | Promise<ModelInfo>>();

	constructor(
		readonly options: BetterAuthOptions,
		readonly adapterOptions: SchemaOptions,
		readonly sealer?: FieldSealer,
	) {
		this.schema = compileSchema(options, adapterOptions);
		this.cache = StatementCache.for(this.schema.fingerprint);
	}

	/** The sealed view of `model`, or undefined when sealing is off or touches nothing of it. */
	sealedOf(model: ModelInfo): SealedModel | undefined {
		return this.sealer?.of(model, this.schema);
	}

	rulesOf(model: ModelInfo) {
		let rules = this.rules.get(model);
		if (!rules) {
			rules = {
				row: outputRules(model, this.schema.idKind, false),
				nested: outputRules(model, this.schema.idKind, true),
			};
			this.rules.set(model, rules);
		}
		return rules;
	}

	/** The model as its table stores it, when that is already known; else undefined (ask {@link stored}). */
	known(model: ModelInfo): ModelInfo | undefined {
		if (model.arrayFields.length === 0) return model;
		const stored = this.storage.get(model);
		return stored instanceof Promise ? undefined : stored;
	}

	/**
	 * The model as its table stores it. Array fields are native arrays in a
	 * database we migrated, jsonb in one Better Auth's migrator made; asked
	 * once per model (and only for models that have array fields).
	 */
	stored(model: ModelInfo, driver: Driver): Promise<ModelInfo> {
		let stored = this.storage.get(model);
		if (!stored) {
			const pending = driver
				.query<{ column: string }>(
					`select a.attname as "column" from pg_catalog.pg_attribute a
					   join pg_catalog.pg_class c on c.oid = a.attrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
					  where n.nspname = $1 and c.relname = $2 and a.atttypid = 'pg_catalog.jsonb'::pg_catalog.regtype`,
					[this.schema.namespace, model.table],
				)
				.then(({ rows }) => (rows.length ? withJsonbArrays(model, new Set(rows.map((r) => r.column))) : model));
			// Once known, the answer is handed out synchronously: every call saves a promise.
			pending.then(
				(resolved) => this.storage.set(model, resolved),
				() => this.storage.delete(model),
			);
			this.storage.set(model, pending);
			stored = pending;
		}
		return Promise.resolve(stored);
	}

	/** The id to insert, or undefined to let Postgres generate it (identity). */
	newId(model: ModelInfo, given: unknown, forceAllowId: boolean): unknown {
		const { idKind } = this.schema;
		const wanted = forceAllowId && given !== undefined && given !== null && given !== "" ? given : undefined;
		if (idKind === "serial") {
			const n = Number(wanted);
			return wanted !== undefined && Number.isSafeInteger(n) ? n : undefined;
		}
		if (idKind === "uuid") return typeof wanted === "string" && UUID.test(wanted) ? wanted : crypto.randomUUID();
		if (wanted !== undefined) return wanted;
		const generateId = this.options.advanced?.database?.generateId;
		if (typeof generateId === "function") return generateId({ model: model.key }) || undefined;
		if (generateId === false) return undefined;
		return defaultGenerateId();
	}
}
