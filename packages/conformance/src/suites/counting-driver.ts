import type { Driver } from "@authpg/core";

/** A driver wrapper that counts statements (round trips), transactions included. */
export interface CountingDriver extends Driver {
	/** Statements sent since the last `reset()`. */
	readonly statements: string[];
	reset(): void;
}

/** Wrap `driver` so every statement it runs is recorded. */
export function countingDriver(driver: Driver): CountingDriver {
	const statements: string[] = [];
	const wrap = (inner: Driver): Driver => ({
		name: inner.name,
		capabilities: inner.capabilities,
		query(sql, params, opts) {
			statements.push(sql);
			return inner.query(sql, params, opts);
		},
		transaction(fn) {
			return inner.transaction((tx) => fn(wrap(tx)));
		},
		close: () => inner.close(),
	});
	return Object.assign(wrap(driver), {
		statements,
		reset() {
			statements.length = 0;
		},
	});
}
