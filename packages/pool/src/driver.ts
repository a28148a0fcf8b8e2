/**
 * An authpg `Driver` over a node-postgres `pg.Pool`: the core's pool driver
 * (shared with Neon's WebSocket `Pool`), named `pool`.
 */
import { type Driver, type PgPoolDriverOptions, pgPoolDriver } from "@authpg/core/driver";
// The default import: pg before 8.15 is CommonJS only, and Node cannot see its named exports.
import pg, { type Pool, type PoolConfig } from "pg";

/** Options for {@link poolDriver}. */
export type PoolDriverOptions = Omit<PgPoolDriverOptions, "name">;

/** Options for {@link createDriver}; the driver always owns the pool it creates. */
export type CreatePoolDriverOptions = Omit<PoolDriverOptions, "ownsPool">;

/**
 * A driver over `pool`. Each statement and each transaction checks out one
 * client; a client whose connection broke is destroyed, not returned.
 * Not `pool.query`: it destroys the connection on every SQL error, and hides
 * which client holds a prepared statement's name.
 */
export function poolDriver(pool: Pool, options: PoolDriverOptions = {}): Driver {
	return pgPoolDriver(pool, { ...options, name: "pool" });
}

/**
 * A driver that owns a new `pg.Pool` for `config` (a connection string or
 * `pg.PoolConfig`). Nothing connects until the first statement.
 */
export function createDriver(config: string | PoolConfig, options: CreatePoolDriverOptions = {}): Driver {
	const pool = new pg.Pool(typeof config === "string" ? { connectionString: config } : config);
	// An idle client that loses its connection is removed by the pool; unheard, the event would crash the process.
	pool.on("error", () => {});
	return poolDriver(pool, { ...options, ownsPool: true });
}
