/**
 * An authpg `Driver` over a node-postgres `pg.Pool`: each statement and each
 * transaction checks out one client, and gives it back as soon as it is done.
 */

import {
	DEFAULT_MAX_PREPARED_STATEMENTS,
	type Driver,
	type DriverCapabilities,
	isStatementError,
	PreparedStatementNames,
	parsedStatements,
	type QueryOptions,
	type QueryResult,
	type RunStatement,
	runOnClient,
	runTransaction,
} from "@authpg/core";
import { Pool, type PoolClient, type PoolConfig } from "pg";

/** Options for {@link poolDriver}. */
export interface PoolDriverOptions {
	/**
	 * Whether `close()` ends the pool. Default `false`: a pool handed in stays
	 * the application's to end.
	 */
	ownsPool?: boolean;
	/**
	 * Send statements the core names as server-side prepared statements.
	 * Default `true`; set `false` behind a pooler in transaction mode
	 * (PgBouncer, Supavisor), where a name may land on another server session.
	 */
	preparedStatements?: boolean;
	/** Most prepared statements kept per pooled connection; the least recently used is deallocated. Default 256. */
	maxPreparedStatements?: number;
}

/** Options for {@link createDriver}; the driver always owns the pool it creates. */
export type CreatePoolDriverOptions = Omit<PoolDriverOptions, "ownsPool">;

/** A driver over `pool`. Transactions run on one checked-out client each, so they do not block each other. */
export function poolDriver(pool: Pool, options: PoolDriverOptions = {}): Driver {
	const prepare = options.preparedStatements ?? true;
	const max = options.maxPreparedStatements ?? DEFAULT_MAX_PREPARED_STATEMENTS;
	const owns = options.ownsPool ?? false;
	const capabilities: DriverCapabilities = {
		transactions: true,
		preparedStatements: prepare,
	};
	// Keyed by client so that a connection the pool discards takes its names with it.
	const namesByClient = new WeakMap<PoolClient, PreparedStatementNames | undefined>();
	let closing: Promise<void> | undefined;

	function namesFor(client: PoolClient): PreparedStatementNames | undefined {
		if (!prepare) return undefined;
		if (!namesByClient.has(client)) {
			namesByClient.set(client, parsedStatements(client) ? new PreparedStatementNames(max) : undefined);
		}
		return namesByClient.get(client);
	}

	/**
	 * Check out a client for `work` and give it back afterwards, destroying it
	 * (`release(err)`) when a statement left the connection unusable, so the
	 * pool never hands out a dead or half-finished session.
	 */
	async function withClient<T>(work: (run: RunStatement) => Promise<T>): Promise<T> {
		if (closing) throw new Error("authpg: the pool driver is closed");
		const client = await pool.connect();
		let broken: Error | undefined;
		// A checked-out client has no pool listener; without one a dropped socket would crash the process.
		const onError = (error: Error) => {
			broken ??= error;
		};
		client.on("error", onError);
		const names = namesFor(client);
		const run: RunStatement = async (sql, params, opts) => {
			try {
				return await runOnClient(client, names, sql, params, opts);
			} catch (error) {
				if (!isStatementError(error)) broken ??= error instanceof Error ? error : new Error(String(error));
				throw error;
			}
		};
		try {
			return await work(run);
		} finally {
			client.removeListener("error", onError);
			client.release(broken);
		}
	}

	return {
		name: "pool",
		capabilities,
		async query<R = Record<string, unknown>>(
			sql: string,
			params: readonly unknown[],
			opts?: QueryOptions,
		): Promise<QueryResult<R>> {
			// Not pool.query: it destroys the connection on every SQL error, and hides which client holds a name.
			const { rows, rowCount } = await withClient((run) => run<R>(sql, params, opts));
			return { rows, rowCount };
		},
		transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T> {
			return withClient((run) => runTransaction({ name: "pool", capabilities, run }, fn));
		},
		close(): Promise<void> {
			closing ??= owns ? pool.end() : Promise.resolve();
			return closing;
		},
	};
}

/**
 * A driver that owns a new `pg.Pool` for `config` (a connection string or
 * `pg.PoolConfig`). Nothing connects until the first statement.
 */
export function createDriver(config: string | PoolConfig, options: CreatePoolDriverOptions = {}): Driver {
	const pool = new Pool(typeof config === "string" ? { connectionString: config } : config);
	// An idle client that loses its connection is removed by the pool; unheard, the event would crash the process.
	pool.on("error", () => {});
	return poolDriver(pool, { ...options, ownsPool: true });
}
