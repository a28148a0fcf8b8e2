import { type Stores, type StoresOptions, sharedDriver, storesFor } from "@authpg/core/driver";
import type { Pool } from "@neondatabase/serverless";
import {
	type CreateNeonDriverOptions,
	createDriver,
	type NeonConnections,
	type NeonDriverOptions,
	neonDriver,
	type StatementTransport,
	TransactionsUnavailableError,
	warnNoTransactions,
} from "./driver.js";
import type { NeonSql } from "./http.js";

export type { Stores, StoresOptions };
export {
	type CreateNeonDriverOptions,
	createDriver,
	type NeonConnections,
	type NeonDriverOptions,
	type NeonSql,
	neonDriver,
	type StatementTransport,
	TransactionsUnavailableError,
};

/** Configuration of {@link createStores}. */
export interface NeonStoresConfig extends StoresOptions, CreateNeonDriverOptions {
	/** `postgresql://…` of a Neon database (pooled or direct; see the guide). */
	connectionString: string;
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
 */
export function createStores(config: NeonStoresConfig): Stores {
	const { connectionString, statements, preparedStatements, maxPreparedStatements, webSocket, pool, ...storesOptions } =
		config;
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
	const { driver, release } = sharedDriver(`neon\u0000${JSON.stringify([connectionString, driverOptions])}`, () =>
		createDriver(connectionString, driverOptions),
	);
	return storesFor(driver, storesOptions, release);
}

/** Options of {@link fromClient}. */
export interface NeonFromClientOptions extends StoresOptions, NeonDriverOptions {
	/** The application's WebSocket `Pool`, for transactions. Required unless `webSocket` is `false`. */
	pool?: Pool;
	/** `false` (with no `pool`): run without transactions, over HTTP only. */
	webSocket?: boolean;
}

/**
 * Stores over a `neon()` query function (and a WebSocket `Pool`) the
 * application owns; `close()` leaves them open.
 */
export function fromClient(sql: NeonSql, options: NeonFromClientOptions = {}): Stores {
	const { statements, preparedStatements, maxPreparedStatements, pool, webSocket, ...storesOptions } = options;
	const driverOptions: NeonDriverOptions = { statements, preparedStatements, maxPreparedStatements };
	if (!pool && webSocket !== false) {
		throw new TypeError(
			"@authpg/neon: fromClient needs { pool } (a WebSocket Pool) for transactions; pass { webSocket: false } to run without them.",
		);
	}
	if (pool && webSocket === false)
		throw new TypeError("@authpg/neon: a pool was given together with webSocket: false.");
	if (!pool) warnNoTransactions();
	const driver = neonDriver({ sql, pool, ownsPool: false }, driverOptions);
	return storesFor(driver, storesOptions, () => driver.close());
}
