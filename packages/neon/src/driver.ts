/**
 * An authpg `Driver` over Neon serverless: single statements over HTTP
 * (`neon()`), interactive transactions over Neon's WebSocket `Pool`, which is
 * pg-compatible, so the core's pool driver runs them.
 */
import {
	AuthpgError,
	type Driver,
	type DriverCapabilities,
	driverClosedError,
	type PgLikePool,
	pgPoolDriver,
	type QueryOptions,
} from "@authpg/core/driver";
import { neon, Pool, type PoolConfig } from "@neondatabase/serverless";
import { type NeonSql, queryOverHttp } from "./http.js";

/** Where statements that are not part of a transaction go. */
export type StatementTransport = "http" | "websocket";

/** Options for {@link neonDriver}. */
export interface NeonDriverOptions {
	/**
	 * Where statements outside a transaction go: `"http"` (default; one
	 * `fetch` each, the fastest from a serverless function) or `"websocket"`
	 * (the WebSocket `Pool`, for a long-lived server that keeps connections
	 * warm). Transactions always use the `Pool`.
	 */
	statements?: StatementTransport;
	/**
	 * Use server-side prepared statements on WebSocket connections. Default
	 * `false`: Neon's pooled connection strings go through PgBouncer in
	 * transaction mode, and serverless connections rarely live long enough to
	 * reuse a plan. HTTP statements are never prepared.
	 */
	preparedStatements?: boolean;
	/** Most prepared statements kept per WebSocket connection when `preparedStatements` is on. Default 256. */
	maxPreparedStatements?: number;
}

/** What {@link neonDriver} runs on. */
export interface NeonConnections {
	/** The `neon()` query function for HTTP statements; needed unless `statements` is `"websocket"`. */
	sql?: NeonSql;
	/**
	 * The WebSocket `Pool` for transactions (and for statements when
	 * `statements` is `"websocket"`), or a function creating it on first use.
	 * Without one the driver has no transactions (see {@link warnNoTransactions}).
	 */
	pool?: Pool | (() => Pool);
	/** Whether `close()` ends the pool. Default `false`. */
	ownsPool?: boolean;
}

/** Thrown by `driver.transaction` when the driver has no WebSocket `Pool`. */
export class TransactionsUnavailableError extends AuthpgError {
	constructor() {
		super(
			"TRANSACTIONS_UNAVAILABLE",
			"This @authpg/neon driver has no WebSocket Pool (webSocket: false), and Neon's HTTP API cannot hold a transaction open across statements. Enable WebSocket (pass a Pool to fromClient, or drop webSocket: false) to run transactions.",
		);
	}
}

let warned = false;

/**
 * Warn, once per process, that Better Auth runs without transactions. Called
 * when a driver without a WebSocket `Pool` is created.
 */
export function warnNoTransactions(): void {
	if (warned) return;
	warned = true;
	console.warn(
		"[@authpg/neon] WebSocket is off (webSocket: false), so Better Auth runs without transactions: " +
			"its multi-step writes (e.g. sign-up creating the user and then the account) are no longer all-or-nothing, " +
			"and a failure part-way leaves the earlier steps in the database. stores.kysely transactions throw. " +
			"Neon's HTTP API cannot hold a transaction open across statements; leave WebSocket on to keep them.",
	);
}

/**
 * A driver over Neon connections. HTTP statements need no connection; the
 * `Pool` (when given as a function) is created when the first transaction
 * (or WebSocket statement) runs.
 */
export function neonDriver(connections: NeonConnections, options: NeonDriverOptions = {}): Driver {
	const transport = options.statements ?? "http";
	const name = transport === "http" ? "neon-http" : "neon-ws";
	const { sql, pool } = connections;
	if (transport === "http" && !sql) throw new TypeError("@authpg/neon: HTTP statements need a neon() query function.");
	if (transport === "websocket" && !pool) {
		throw new TypeError('@authpg/neon: statements: "websocket" needs a WebSocket Pool.');
	}

	let ws: Driver | undefined;
	let closing: Promise<void> | undefined;
	const webSocket = (): Driver => {
		if (closing) throw driverClosedError(name);
		if (!ws) {
			const created = typeof pool === "function" ? pool() : pool!;
			ws = pgPoolDriver(created as unknown as PgLikePool, {
				name,
				ownsPool: connections.ownsPool ?? false,
				preparedStatements: options.preparedStatements ?? false,
				maxPreparedStatements: options.maxPreparedStatements,
			});
		}
		return ws;
	};
	const capabilities: DriverCapabilities = {
		transactions: pool !== undefined,
		preparedStatements: transport === "websocket" && (options.preparedStatements ?? false),
	};

	return {
		name,
		capabilities,
		async query<R>(text: string, params: readonly unknown[], opts?: QueryOptions) {
			if (transport === "websocket") return webSocket().query<R>(text, params, opts);
			if (closing) throw driverClosedError(name);
			return queryOverHttp<R>(sql!, text, params);
		},
		async transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T> {
			if (!pool) throw new TransactionsUnavailableError();
			return webSocket().transaction(fn);
		},
		close(): Promise<void> {
			closing ??= ws ? ws.close() : Promise.resolve();
			return closing;
		},
	};
}

/** Options for {@link createDriver}; the driver owns the `Pool` it creates. */
export interface CreateNeonDriverOptions extends NeonDriverOptions {
	/**
	 * `false` turns the WebSocket `Pool` off: statements go over HTTP only and
	 * Better Auth runs without transactions (a one-time warning says what is
	 * lost). Default `true`.
	 */
	webSocket?: boolean;
	/** Options for the WebSocket `Pool` (max, idleTimeoutMillis, …); the connection string is the driver's. */
	pool?: Omit<PoolConfig, "connectionString">;
}

/**
 * A driver for a read replica at `connectionString`, owning its connections:
 * statements over HTTP (`neon()`), or over a WebSocket `Pool` created on the
 * first statement when `statements` is `"websocket"`. No transactions, and
 * no warning about them: a routing driver sends every transaction to the
 * primary, so a replica never runs one.
 */
export function createReplicaDriver(connectionString: string, options: CreateNeonDriverOptions = {}): Driver {
	const { webSocket: _webSocket, pool: poolConfig, ...driverOptions } = options;
	if (driverOptions.statements !== "websocket") return neonDriver({ sql: neon(connectionString) }, driverOptions);
	const createPool = () => {
		const pool = new Pool({ ...poolConfig, connectionString });
		// As the primary's: an idle client's lost connection must not crash the process.
		pool.on("error", () => {});
		return pool;
	};
	return neonDriver({ pool: createPool, ownsPool: true }, driverOptions);
}

/**
 * A driver for `connectionString` that owns its connections: a `neon()`
 * query function (no I/O until a statement runs) and, unless `webSocket` is
 * `false`, a WebSocket `Pool` created when the first transaction runs.
 */
export function createDriver(connectionString: string, options: CreateNeonDriverOptions = {}): Driver {
	const { webSocket = true, pool: poolConfig, ...driverOptions } = options;
	if (!webSocket && driverOptions.statements === "websocket") {
		throw new TypeError('@authpg/neon: statements: "websocket" cannot be combined with webSocket: false.');
	}
	if (!webSocket) warnNoTransactions();
	const createPool = () => {
		const pool = new Pool({ ...poolConfig, connectionString });
		// An idle client that loses its connection is removed by the pool; unheard, the event would crash the process.
		pool.on("error", () => {});
		return pool;
	};
	const sql = driverOptions.statements === "websocket" ? undefined : neon(connectionString);
	return neonDriver({ sql, pool: webSocket ? createPool : undefined, ownsPool: true }, driverOptions);
}
