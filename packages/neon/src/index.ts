import {
	type Driver,
	type ReplicaOptions,
	type Stores,
	type StoresOptions,
	sharedDriver,
	splitReplicaOptions,
	storesFor,
	withReplicas,
} from "@authpg/core/driver";
import type { Pool } from "@neondatabase/serverless";
import {
	type CreateNeonDriverOptions,
	createDriver,
	createReplicaDriver,
	type NeonConnections,
	type NeonDriverOptions,
	neonDriver,
	type StatementTransport,
	TransactionsUnavailableError,
	warnNoTransactions,
} from "./driver.js";
import type { NeonSql } from "./http.js";

export type { ReplicaOptions, Stores, StoresOptions };
export {
	type CreateNeonDriverOptions,
	createDriver,
	createReplicaDriver,
	type NeonConnections,
	type NeonDriverOptions,
	type NeonSql,
	neonDriver,
	type StatementTransport,
	TransactionsUnavailableError,
};

/** Configuration of {@link createStores}. */
export interface NeonStoresConfig extends StoresOptions, CreateNeonDriverOptions, ReplicaOptions {
	/** `postgresql://…` of a Neon database (pooled or direct; see the guide). */
	connectionString: string;
	/**
	 * Connection strings of read replicas (Neon read replicas are compute
	 * endpoints of their own, each with its own connection string). Each gets
	 * the same transport as the primary (`statements`: HTTP by default, or a
	 * WebSocket `Pool` with the same `pool` options), owned by these stores.
	 * `findOne`, `findMany` and `count` outside transactions go to a healthy
	 * one; every write, transaction and store to the primary. See
	 * `replicatedDriver` in `@authpg/core/driver` for the routing,
	 * read-your-writes and lag rules.
	 */
	replicas?: readonly string[];
}

/**
 * Stores over Neon connections these stores own: single statements over
 * HTTP, transactions over a WebSocket `Pool` created when the first one runs.
 * Synchronous and lazy, so it can sit at module top level (on Cloudflare
 * Workers, create stores per request and `close()` them after the response).
 *
 * @example
 * ```ts
 * const stores = createStores({ connectionString: process.env.DATABASE_URL! });
 * export const auth = betterAuth(stores.applyTo({ emailAndPassword: { enabled: true } }));
 * ```
 *
 * @example With a Neon read replica
 * ```ts
 * const stores = createStores({
 *   connectionString: process.env.DATABASE_URL!,
 *   replicas: [process.env.DATABASE_REPLICA_URL!],
 * });
 * ```
 */
export function createStores(config: NeonStoresConfig): Stores {
	const {
		connectionString,
		statements,
		preparedStatements,
		maxPreparedStatements,
		webSocket,
		pool,
		replicas = [],
		...rest
	} = config;
	const [replicaOptions, storesOptions] = splitReplicaOptions(rest);
	const driverOptions: CreateNeonDriverOptions = {
		statements,
		preparedStatements,
		maxPreparedStatements,
		webSocket,
		pool,
	};
	if (typeof connectionString !== "string" || connectionString === "") {
		throw new TypeError("@authpg/neon: createStores needs a connectionString.");
	}
	if (replicas.some((replica) => typeof replica !== "string" || replica === "")) {
		throw new TypeError("@authpg/neon: every entry of replicas must be a connection string.");
	}
	const key = JSON.stringify([connectionString, driverOptions, replicas, replicaOptions]);
	const { driver, release } = sharedDriver(`neon\u0000${key}`, () =>
		withReplicas(
			createDriver(connectionString, driverOptions),
			replicas.map((replica) => createReplicaDriver(replica, driverOptions)),
			replicaOptions,
		),
	);
	return storesFor(driver, storesOptions, release);
}

/** Options of {@link fromClient}. */
export interface NeonFromClientOptions extends StoresOptions, NeonDriverOptions, ReplicaOptions {
	/** The application's WebSocket `Pool`, for transactions. Required unless `webSocket` is `false`. */
	pool?: Pool;
	/** `false` (with no `pool`): run without transactions, over HTTP only. */
	webSocket?: boolean;
	/**
	 * Read replicas the application owns (`close()` leaves them open): a
	 * `neon()` query function of a replica's connection string, whose reads go
	 * over HTTP, or a WebSocket `Pool` of one, whose reads go over WebSocket.
	 * See {@link NeonStoresConfig.replicas}.
	 */
	replicas?: readonly (NeonSql | Pool)[];
}

/**
 * Stores over a `neon()` query function (and a WebSocket `Pool`) the
 * application owns; `close()` leaves them open.
 */
export function fromClient(sql: NeonSql, options: NeonFromClientOptions = {}): Stores {
	const { statements, preparedStatements, maxPreparedStatements, pool, webSocket, replicas = [], ...rest } = options;
	const [replicaOptions, storesOptions] = splitReplicaOptions(rest);
	const driverOptions: NeonDriverOptions = { statements, preparedStatements, maxPreparedStatements };
	if (!pool && webSocket !== false) {
		throw new TypeError(
			"@authpg/neon: fromClient needs { pool } (a WebSocket Pool) for transactions; pass { webSocket: false } to run without them.",
		);
	}
	if (pool && webSocket === false)
		throw new TypeError("@authpg/neon: a pool was given together with webSocket: false.");
	if (!pool) warnNoTransactions();
	const driver: Driver = withReplicas(
		neonDriver({ sql, pool, ownsPool: false }, driverOptions),
		replicas.map((replica) =>
			// A neon() query function is a function; a Pool is not.
			typeof replica === "function"
				? neonDriver({ sql: replica }, { ...driverOptions, statements: "http" })
				: neonDriver({ pool: replica, ownsPool: false }, { ...driverOptions, statements: "websocket" }),
		),
		replicaOptions,
	);
	return storesFor(driver, storesOptions, () => driver.close());
}
