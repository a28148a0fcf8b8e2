import { type Driver, type Stores, type StoresOptions, sharedDriver, storesFor } from "@authpg/core/driver";
import type { Sql } from "postgres";
import {
	type CreatePostgresJsDriverOptions,
	createDriver,
	type PostgresJsDriverOptions,
	type PostgresJsOptions,
	postgresJsDriver,
} from "./driver.js";

export type { Stores, StoresOptions };
export {
	type CreatePostgresJsDriverOptions,
	createDriver,
	type PostgresJsDriverOptions,
	type PostgresJsOptions,
	postgresJsDriver,
};

/** Configuration of {@link createStores}. */
export interface PostgresJsStoresConfig extends StoresOptions, CreatePostgresJsDriverOptions {
	/** `postgres://…`; without it postgres.js reads `PGHOST`, `PGUSER`, … as psql does. */
	connectionString?: string;
	/** postgres.js options (`max`, `idle_timeout`, `ssl`, …); `transform` and `types` do not apply. */
	postgres?: PostgresJsOptions;
}

/**
 * Stores over a postgres.js instance these stores own. Synchronous and lazy:
 * nothing connects until the first query, so it can sit at module top level.
 * `close()` ends the instance (`sql.end()`).
 *
 * @example
 * ```ts
 * const stores = createStores({ connectionString: process.env.DATABASE_URL });
 * export const auth = betterAuth(stores.applyTo({ emailAndPassword: { enabled: true } }));
 * ```
 */
export function createStores(config: PostgresJsStoresConfig = {}): Stores {
	const { connectionString, postgres, preparedStatements, ...storesOptions } = config;
	const driverOptions: CreatePostgresJsDriverOptions = { preparedStatements };
	const { driver, release } = sharedDriver(
		`postgres-js\u0000${JSON.stringify([connectionString ?? null, postgres ?? {}, driverOptions])}`,
		() => createDriver({ ...postgres, connectionString }, driverOptions),
	);
	return storesFor(driver, storesOptions, release);
}

/**
 * Stores over a postgres.js instance the application owns; `close()` leaves
 * it open. Its `types` and value transforms do not change what the stores
 * read; an instance that renames columns (`transform: postgres.camel`) gets a
 * transform-free instance of the stores' own beside it (see
 * {@link postgresJsDriver}), which `close()` ends.
 */
export function fromClient(
	sql: Sql<any>,
	options: StoresOptions & Omit<PostgresJsDriverOptions, "ownsClient"> = {},
): Stores {
	const { preparedStatements, ...storesOptions } = options;
	const driver: Driver = postgresJsDriver(sql, { preparedStatements });
	return storesFor(driver, storesOptions, () => driver.close());
}
