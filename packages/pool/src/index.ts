import { type Driver, type Stores, type StoresOptions, sharedDriver, storesFor } from "@authpg/core/driver";
import type { Pool, PoolConfig } from "pg";
import { type CreatePoolDriverOptions, createDriver, type PoolDriverOptions, poolDriver } from "./driver.js";

export type { Stores, StoresOptions };
export { type CreatePoolDriverOptions, createDriver, type PoolDriverOptions, poolDriver };

/** Configuration of {@link createStores}. */
export interface PoolStoresConfig extends StoresOptions, CreatePoolDriverOptions {
	/** `postgres://…`; or give `pool` options instead. */
	connectionString?: string;
	/** `pg.Pool` options (max, idle timeout, ssl, …); `connectionString` wins when both are given. */
	pool?: PoolConfig;
}

/**
 * Stores over a `pg.Pool` these stores own. Synchronous and lazy: nothing
 * connects until the first query, so it can sit at module top level.
 * `close()` ends the pool.
 *
 * @example
 * ```ts
 * const stores = createStores({ connectionString: process.env.DATABASE_URL });
 * export const auth = betterAuth(stores.applyTo({ emailAndPassword: { enabled: true } }));
 * ```
 */
export function createStores(config: PoolStoresConfig = {}): Stores {
	const { connectionString, pool, preparedStatements, maxPreparedStatements, ...storesOptions } = config;
	const driverOptions: CreatePoolDriverOptions = { preparedStatements, maxPreparedStatements };
	const poolConfig: PoolConfig = { ...pool, ...(connectionString ? { connectionString } : {}) };
	const { driver, release } = sharedDriver(`pool\u0000${JSON.stringify([poolConfig, driverOptions])}`, () =>
		createDriver(poolConfig, driverOptions),
	);
	return storesFor(driver, storesOptions, release);
}

/**
 * Stores over a `pg.Pool` the application owns; `close()` leaves it open.
 */
export function fromPool(pool: Pool, options: StoresOptions & Omit<PoolDriverOptions, "ownsPool"> = {}): Stores {
	const { preparedStatements, maxPreparedStatements, ...storesOptions } = options;
	const driver: Driver = poolDriver(pool, { preparedStatements, maxPreparedStatements });
	return storesFor(driver, storesOptions, () => driver.close());
}
