/**
 * An authpg `Driver` over ONE node-postgres `pg.Client`.
 *
 * pg's own client-side query queue is deprecated (gone in pg 9), so this
 * driver queues every statement itself and never has two in flight on the
 * client. A transaction holds the queue for its whole duration: other callers
 * wait until it commits or rolls back, while its own `tx` statements go through.
 */

import {
	DEFAULT_MAX_PREPARED_STATEMENTS,
	type Driver,
	type DriverCapabilities,
	isStatementError,
	PreparedStatementNames,
	parsedStatements,
	type QueryOptions,
	runOnClient,
	runTransaction,
	singleSessionDriver,
} from "@authpg/core/driver";
// The default import: pg before 8.15 is CommonJS only, and Node cannot see its named exports.
import pg, { type Client, type ClientConfig } from "pg";

/** Options for {@link nodePostgresDriver}. */
export interface NodePostgresDriverOptions {
	/**
	 * Whether `close()` ends the client. Default `false`: a client handed in
	 * stays the application's to end.
	 */
	ownsClient?: boolean;
	/**
	 * Send statements the core names as server-side prepared statements.
	 * Default `true`; set `false` behind a pooler in transaction mode
	 * (PgBouncer, Supavisor), where a name may land on another server session.
	 */
	preparedStatements?: boolean;
	/** Most prepared statements kept on the connection; the least recently used is deallocated. Default 256. */
	maxPreparedStatements?: number;
}

/** Options for {@link createDriver}; the driver always owns the client it creates. */
export type CreateNodePostgresDriverOptions = Omit<NodePostgresDriverOptions, "ownsClient">;

/**
 * A driver over `client`, which may or may not be connected yet: an
 * unconnected client is connected on first use.
 *
 * While a transaction runs, calls from other async contexts wait for it; a
 * call made through this driver from inside the transaction's callback (where
 * the runtime has AsyncLocalStorage) joins the transaction instead of
 * waiting for it forever.
 */
export function nodePostgresDriver(client: Client, options: NodePostgresDriverOptions = {}): Driver {
	return clientDriver(client, undefined, options.ownsClient ?? false, options);
}

/**
 * A driver that owns a new `pg.Client` for `config` (a connection string or
 * `pg.ClientConfig`). Nothing connects until the first statement; after the
 * connection is lost, the next statement opens a new one.
 */
export function createDriver(config: string | ClientConfig, options: CreateNodePostgresDriverOptions = {}): Driver {
	const make = () => new pg.Client(typeof config === "string" ? { connectionString: config } : config);
	return clientDriver(make(), make, true, options);
}

/** pg 8 internals this driver reads; each is checked before use. */
interface PgClientInternals {
	_connecting?: boolean;
	_connected?: boolean;
}

/** One client and what the driver knows about its session. */
interface Session {
	readonly client: Client;
	/** Statement names prepared in this session; absent when named statements are off. */
	readonly names: PreparedStatementNames | undefined;
	ready: Promise<void> | undefined;
	lost: boolean;
}

function clientDriver(
	initial: Client,
	reconnect: (() => Client) | undefined,
	owns: boolean,
	options: CreateNodePostgresDriverOptions,
): Driver {
	const prepare = (options.preparedStatements ?? true) && parsedStatements(initial) !== undefined;
	const max = options.maxPreparedStatements ?? DEFAULT_MAX_PREPARED_STATEMENTS;
	const capabilities: DriverCapabilities = {
		transactions: true,
		preparedStatements: prepare,
	};
	let session = openSession(initial);

	function openSession(client: Client): Session {
		const opened: Session = {
			client,
			names: prepare ? new PreparedStatementNames(max) : undefined,
			ready: undefined,
			lost: false,
		};
		if (owns) {
			// Without a listener a dropped socket would crash the process; the next call reconnects instead.
			const lose = () => {
				opened.lost = true;
			};
			client.on("error", lose);
			client.on("end", lose);
		}
		return opened;
	}

	/** The connected session; only called under the gate. */
	async function current(): Promise<Session> {
		if (session.lost && reconnect) {
			session.client.end().catch(() => {});
			session = openSession(reconnect());
		}
		const active = session;
		active.ready ??= connectOnce(active.client).catch((error: unknown) => {
			// A pg.Client cannot connect twice; an owned one is replaced on the next call.
			active.lost = true;
			throw error;
		});
		await active.ready;
		return active;
	}

	return singleSessionDriver({
		name: "node-postgres",
		capabilities,
		run: async (sql, params, opts) => runOnSession(await current(), sql, params, opts),
		async transaction(fn) {
			const active = await current();
			return runTransaction(
				{ name: "node-postgres", capabilities, run: (sql, params, opts) => runOnSession(active, sql, params, opts) },
				fn,
			);
		},
		async close() {
			if (owns) await session.client.end();
		},
	});
}

async function connectOnce(client: Client): Promise<void> {
	const internals = client as unknown as PgClientInternals;
	// A client the application already connected (or is connecting) must not be connected again.
	if (internals._connecting || internals._connected) return;
	await client.connect();
}

async function runOnSession<R>(
	session: Session,
	sql: string,
	params: readonly unknown[],
	opts: QueryOptions | undefined,
) {
	try {
		return await runOnClient<R>(session.client, session.names, sql, params, opts);
	} catch (error) {
		// The socket's 'end' may come after the caller's next statement: a session-ending error retires the session now.
		if (!isStatementError(error)) session.lost = true;
		throw error;
	}
}
