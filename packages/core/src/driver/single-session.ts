/**
 * The skeleton of a driver over ONE database session (one `pg.Client`, one
 * PGlite instance): statements take turns at a FIFO gate, a transaction
 * holds the gate until it ends, a statement sent through the driver from
 * inside the transaction's callback joins it instead of waiting for it
 * forever, and `close()` is one more turn at the gate, so queued work
 * finishes first. A driver package supplies only how to run a statement and
 * a transaction on its session.
 */
import type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./contract.js";
import { createGate } from "./gate.js";
import type { StatementResult } from "./transaction.js";
import { TransactionContext } from "./transaction-context.js";

/** One session, as {@link singleSessionDriver} drives it. Each method is called under the gate. */
export interface SingleSession {
	/** Reported as `driver.name`. */
	readonly name: string;
	/** Used in messages, e.g. `"PGlite"`. Default: `name`. */
	readonly label?: string;
	readonly capabilities: DriverCapabilities;
	/** Run one statement outside any transaction. */
	run<R>(sql: string, params: readonly unknown[], opts: QueryOptions | undefined): Promise<StatementResult<R>>;
	/** Run `fn` in one transaction on the session (usually with `runTransaction`). */
	transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T>;
	/** End the session, if the driver owns it. Called once, after every queued call has settled. */
	close(): Promise<void>;
}

/** The error a call gets once `close()` was called. */
export function driverClosedError(label: string): Error {
	return new Error(`authpg: the ${label} driver is closed`);
}

/** A {@link Driver} over `session` (see the module comment for what it guarantees). */
export function singleSessionDriver(session: SingleSession): Driver {
	const { name, capabilities } = session;
	const gate = createGate();
	const context = new TransactionContext();
	let closing: Promise<void> | undefined;

	function assertOpen(): void {
		if (closing) throw driverClosedError(session.label ?? name);
	}

	return {
		name,
		capabilities,
		async query<R = Record<string, unknown>>(
			sql: string,
			params: readonly unknown[],
			opts?: QueryOptions,
		): Promise<QueryResult<R>> {
			assertOpen();
			const inside = context.current();
			if (inside) return inside.query<R>(sql, params, opts);
			const { rows, rowCount } = await gate.run(() => session.run<R>(sql, params, opts));
			return { rows, rowCount };
		},
		async transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T> {
			assertOpen();
			const inside = context.current();
			if (inside) return inside.transaction(fn);
			return gate.run(() => session.transaction((tx) => context.run(tx, () => fn(tx))));
		},
		close(): Promise<void> {
			closing ??= gate.run(() => session.close());
			return closing;
		},
	};
}
