/**
 * A `Driver` over a node-postgres-compatible pool (`pg.Pool`, Neon's
 * WebSocket `Pool`): each statement and each transaction checks out one
 * client and gives it back as soon as it is done. Typed structurally, so the
 * core imports no driver and runs wherever those pools run (Node, edge).
 */
import { isStatementError } from "./connection-loss.js";
import type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./contract.js";
import {
	type Callback,
	callbackStyle,
	type PgLikeClient,
	parsedStatements,
	runOnClient,
	toResult,
} from "./pg-client.js";
import { DEFAULT_MAX_PREPARED_STATEMENTS, PreparedStatementNames } from "./prepared-names.js";
import { driverClosedError } from "./single-session.js";
import { type RunStatement, runTransaction } from "./transaction.js";

/** A client checked out of a {@link PgLikePool}. */
export interface PgLikePoolClient extends PgLikeClient {
	on(event: "error", listener: (error: Error) => void): unknown;
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
	let closing: Promise<void> | undefined;
	// Keyed by client so that a connection the pool discards takes its state with it.
	const states = new WeakMap<PgLikePoolClient, ClientState>();

	function stateOf(client: PgLikePoolClient): ClientState {
		let state = states.get(client);
		if (!state) {
			const created: ClientState = {
				names: prepare && parsedStatements(client) ? new PreparedStatementNames(max) : undefined,
				broken: undefined,
			};
			// A checked-out client has no pool listener; without one a dropped socket would crash the process.
			// Attached once per connection rather than per checkout: the hot path then allocates no listener.
			client.on("error", (error) => {
				created.broken ??= error;
			});
			states.set(client, created);
			state = created;
		}
		return state;
	}

	/** Record a failure that left the connection unusable, so that its release destroys it. */
	function noteFailure(state: ClientState, error: unknown): void {
		if (!isStatementError(error)) state.broken ??= error instanceof Error ? error : new Error(String(error));
	}

	/** Check out a client, callback-style where the pool offers it (see {@link callbackStyle}). */
	function checkout(callback: Callback<PgLikePoolClient>): void {
		if (closing) callback(driverClosedError(name));
		else
			callbackStyle(
				(done) => (pool.connect as (done: Callback<PgLikePoolClient>) => unknown).call(pool, done),
				callback,
			);
	}

	return {
		name,
		capabilities,
		query<R = Record<string, unknown>>(
			sql: string,
			params: readonly unknown[],
			opts?: QueryOptions,
		): Promise<QueryResult<R>> {
			// Not pool.query: pg destroys the connection on every SQL error, and it hides which client holds a name.
			return new Promise((resolve, reject) => {
				checkout((failure, client) => {
					if (!client) return reject(failure);
					const state = stateOf(client);
					const finish: Callback<unknown> = (error, result) => {
						if (error != null) noteFailure(state, error);
						// With an error the pool destroys the client instead, so it never hands out a dead or half-finished session.
						client.release(state.broken);
						if (error != null) reject(error);
						else resolve(toResult<R>(result));
					};
					const name = opts?.name;
					const { names } = state;
					const values = params as unknown[];
					if (name !== undefined && names && !names.touch(name)) {
						// A name not yet prepared on this connection may first need room (a DEALLOCATE): the slow path.
						runOnClient(client, names, sql, params, opts).then((result) => finish(null, result), finish);
						return;
					}
					const config = name !== undefined && names ? { name, text: sql, values } : { text: sql, values };
					callbackStyle(
						(done) => (client.query as (c: object, done: Callback<unknown>) => unknown).call(client, config, done),
						finish,
					);
				});
			});
		},
		async transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T> {
			const client = await new Promise<PgLikePoolClient>((resolve, reject) =>
				checkout((error, checkedOut) => (checkedOut ? resolve(checkedOut) : reject(error))),
			);
			const state = stateOf(client);
			const run: RunStatement = <R>(sql: string, params: readonly unknown[], opts?: QueryOptions) =>
				runOnClient<R>(client, state.names, sql, params, opts).catch((error: unknown) => {
					noteFailure(state, error);
					throw error;
				});
			try {
				return await runTransaction({ name, capabilities, run }, fn);
			} finally {
				client.release(state.broken);
			}
		},
		close(): Promise<void> {
			closing ??= owns ? pool.end() : Promise.resolve();
			return closing;
		},
	};
}

/** What the driver keeps per pooled connection. */
interface ClientState {
	readonly names: PreparedStatementNames | undefined;
	/** Set once the connection failed; its next release destroys it. */
	broken: Error | undefined;
}
