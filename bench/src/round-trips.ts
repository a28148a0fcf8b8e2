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
}
