/**
 * A `Driver` over a node-postgres-compatible pool (`pg.Pool`, Neon's
 * WebSocket `Pool`): each statement and each transaction checks out one
 * client and gives it back as soon as it is done. Typed structurally, so the
 * core imports no driver and runs wherever those pools run (Node, edge).
 */
import type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./driver.js";
import { isStatementError, type PgLikeClient, parsedStatements, runOnClient } from "./pg-client.js";
import {
	DEFAULT_MAX_PREPARED_STATEMENTS,
	PreparedStatementNames,
	type RunStatement,
	runTransaction,
} from "./transaction.js";

/** A client checked out of a {@link PgLikePool}. */
export interface PgLikePoolClient extends PgLikeClient {
	on(event: "error", listener: (error: Error) => void): unknown;
	removeListener(event: "error", listener: (error: Error) => void): unknown;
	/** Give the client back; with an error (or `true`) the pool destroys it instead. */
	release(destroy?: Error | boolean): void;
}

/** The part of a node-postgres-compatible pool the driver uses. */
export interface PgLikePool {
	connect(): Promise<PgLikePoolClient>;
	end(): Promise<void>;
}

/** Options for {@link pgPoolDriver}. */
export interface PgPoolDriverOptions {
	/** Reported as `driver.name` (and by the `tx` drivers of its transactions). */
	name: string;
	/** Whether `close()` ends the pool. Default `false`: a pool handed in stays its owner's to end. */
	ownsPool?: boolean;
	/**
	 * Send statements the core names as server-side prepared statements.
	 * Default `true`; `false` behind a pooler in transaction mode, where a name
	 * may land on another server session.
	 */
	preparedStatements?: boolean;
	/** Most prepared statements kept per pooled connection; the least recently used is deallocated. Default 256. */
	maxPreparedStatements?: number;
}

/** A driver over `pool`. Transactions run on one checked-out client each, so they do not block each other. */
export function pgPoolDriver(pool: PgLikePool, options: PgPoolDriverOptions): Driver {
	const { name } = options;
	const prepare = options.preparedStatements ?? true;
	const max = options.maxPreparedStatements ?? DEFAULT_MAX_PREPARED_STATEMENTS;
	const owns = options.ownsPool ?? false;
	const capabilities: DriverCapabilities = { transactions: true, preparedStatements: prepare };
	// Keyed by client so that a connection the pool discards takes its names with it.
	const namesByClient = new WeakMap<PgLikePoolClient, PreparedStatementNames | undefined>();
	let closing: Promise<void> | undefined;

	function namesFor(client: PgLikePoolClient): PreparedStatementNames | undefined {
		if (!prepare) return undefined;
		if (!namesByClient.has(client)) {
			namesByClient.set(client, parsedStatements(client) ? new PreparedStatementNames(max) : undefined);
		}
		return namesByClient.get(client);
	}

	/**
	 * Check out a client for `work` and give it back afterwards, destroying it
	 * when a statement left the connection unusable, so the pool never hands
	 * out a dead or half-finished session.
	 */
	async function withClient<T>(work: (run: RunStatement) => Promise<T>): Promise<T> {
		if (closing) throw new Error(`authpg: the ${name} driver is closed`);
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
		name,
		capabilities,
		async query<R = Record<string, unknown>>(
			sql: string,
			params: readonly unknown[],
			opts?: QueryOptions,
		): Promise<QueryResult<R>> {
			// Not pool.query: pg destroys the connection on every SQL error, and it hides which client holds a name.
			const { rows, rowCount } = await withClient((run) => run<R>(sql, params, opts));
			return { rows, rowCount };
		},
		transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T> {
			return withClient((run) => runTransaction({ name, capabilities, run }, fn));
		},
		close(): Promise<void> {
			closing ??= owns ? pool.end() : Promise.resolve();
			return closing;
		},
	};
}
