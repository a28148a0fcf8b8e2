/**
 * Round trips counted at the driver: every statement a subject's client sends
 * to the server (each waits for the server's answer before it resolves), so
 * BEGIN/COMMIT, a join emulated as two queries or a DEALLOCATE all count.
 */
import type pg from "pg";

/** Statements sent by one subject's clients. */
export class RoundTrips {
	count = 0;

	/** Count every `query` of `client` (a `pg.Client` or a pooled client). */
	watchClient(client: pg.Client | pg.PoolClient): void {
		const query = client.query;
		const counter = this;
		// Patched on the instance: pg.Pool's own `pool.query` (drizzle's path) ends up here too.
		client.query = function (this: unknown, ...args: unknown[]) {
			counter.count++;
			return (query as (...a: unknown[]) => unknown).apply(this, args);
		} as typeof client.query;
	}

	/** Count every statement of every client `pool` opens. */
	watchPool(pool: pg.Pool): void {
		pool.on("connect", (client) => this.watchClient(client));
	}

	/**
	 * Count every statement sent to a PGlite instance: `query` and `exec`, and
	 * inside `transaction` its BEGIN and COMMIT (sent by PGlite itself) plus the
	 * transaction's own `query` and `exec`.
	 */
	watchPglite(pglite: PgliteLike): void {
		const counter = this;
		const counted = <T extends PgliteRunner>(runner: T): T => {
			const { query, exec } = runner;
			runner.query = function (this: unknown, ...args: unknown[]) {
				counter.count++;
				return (query as (...a: unknown[]) => unknown).apply(this, args);
			} as T["query"];
			runner.exec = function (this: unknown, ...args: unknown[]) {
				counter.count++;
				return (exec as (...a: unknown[]) => unknown).apply(this, args);
			} as T["exec"];
			return runner;
		};
		counted(pglite);
		const transaction = pglite.transaction;
		pglite.transaction = function (this: unknown, callback: (tx: PgliteRunner) => Promise<unknown>) {
			counter.count += 2;
			return transaction.call(this, (tx: PgliteRunner) => callback(counted(tx)));
		} as PgliteLike["transaction"];
	}
}

/** The statement-running methods of PGlite and of a PGlite transaction. */
interface PgliteRunner {
	query(...args: never[]): Promise<unknown>;
	exec(...args: never[]): Promise<unknown>;
}

/** The part of a PGlite instance {@link RoundTrips.watchPglite} patches. */
interface PgliteLike extends PgliteRunner {
	transaction<T>(callback: (tx: PgliteRunner) => Promise<T>): Promise<T>;
}
