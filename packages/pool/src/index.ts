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
import type { Pool, PoolConfig } from "pg";
import { type CreatePoolDriverOptions, createDriver, type PoolDriverOptions, poolDriver } from "./driver.js";

export type { ReplicaOptions, Stores, StoresOptions };
export { type CreatePoolDriverOptions, createDriver, type PoolDriverOptions, poolDriver };

/** Configuration of {@link createStores}. */
export interface PoolStoresConfig extends StoresOptions, CreatePoolDriverOptions, ReplicaOptions {
	/** `postgres://…`; or give `pool` options instead. */
	connectionString?: string;
	/** `pg.Pool` options (max, idle timeout, ssl, …); `connectionString` wins when both are given. */
	pool?: PoolConfig;
	/**
	 * Read replicas of the primary: a connection string, or `pg.Pool` options,
	 * each (one pool per replica, owned by these stores). `findOne`,
	 * `findMany` and `count` outside transactions go to a healthy one; every
	 * write, transaction and store to the primary. See `replicatedDriver` in
	 * `@authpg/core/driver` for the routing, read-your-writes and lag rules.
	 */
	replicas?: readonly (string | PoolConfig)[];
}

/**
 * Stores over a `pg.Pool` these stores own. Synchronous and lazy: nothing
 * connects until the first query, so it can sit at module top level.
 * `close()` ends the pool (and the replicas' pools).
 *
 * @example
 * ```ts
 * const stores = createStores({ connectionString: process.env.DATABASE_URL });
 * export const auth = betterAuth(stores.applyTo({ emailAndPassword: { enabled: true } }));
 * ```
 *
 * @example With read replicas
 * ```ts
 * const stores = createStores({
 *   connectionString: process.env.DATABASE_URL,
 *   replicas: [process.env.REPLICA_URL],
 *   maxReplicaLag: 5000,
 * });
 * ```
 */
export function createStores(config: PoolStoresConfig = {}): Stores {
	const { connectionString, pool, preparedStatements, maxPreparedStatements, replicas = [], ...rest } = config;
	const [replicaOptions, storesOptions] = splitReplicaOptions(rest);
	const driverOptions: CreatePoolDriverOptions = { preparedStatements, maxPreparedStatements };
	const poolConfig: PoolConfig = { ...pool, ...(connectionString ? { connectionString } : {}) };
	const key = JSON.stringify([poolConfig, driverOptions, replicas, replicaOptions]);
	const { driver, release } = sharedDriver(`pool\u0000${key}`, () =>
		withReplicas(
			createDriver(poolConfig, driverOptions),
			replicas.map((replica) => createDriver(replica, driverOptions)),
			replicaOptions,
		),
	);
	return storesFor(driver, storesOptions, release);
}

/** Options of {@link fromPool}. */
export interface FromPoolOptions extends StoresOptions, Omit<PoolDriverOptions, "ownsPool">, ReplicaOptions {
	/** Pools of read replicas the application owns (`close()` leaves them open too); see {@link PoolStoresConfig.replicas}. */
	replicas?: readonly Pool[];
}

/**
 * Stores over a `pg.Pool` the application owns; `close()` leaves it open.
 */
export function fromPool(pool: Pool, options: FromPoolOptions = {}): Stores {
	const { preparedStatements, maxPreparedStatements, replicas = [], ...rest } = options;
	const [replicaOptions, storesOptions] = splitReplicaOptions(rest);
	const driverOptions = { preparedStatements, maxPreparedStatements };
	const driver: Driver = withReplicas(
		poolDriver(pool, driverOptions),
		replicas.map((replica) => poolDriver(replica, driverOptions)),
		replicaOptions,
	);
	return storesFor(driver, storesOptions, () => driver.close());
}
