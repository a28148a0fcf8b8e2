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
import type { Client, ClientConfig } from "pg";
import {
	type CreateNodePostgresDriverOptions,
	createDriver,
	type NodePostgresDriverOptions,
	nodePostgresDriver,
} from "./driver.js";

export type { ReplicaOptions, Stores, StoresOptions };
export { type CreateNodePostgresDriverOptions, createDriver, type NodePostgresDriverOptions, nodePostgresDriver };

/** Configuration of {@link createStores}. */
export interface NodePostgresStoresConfig extends StoresOptions, CreateNodePostgresDriverOptions, ReplicaOptions {
	/** `postgres://…`; or give `client` options instead. */
	connectionString?: string;
	/** `pg.Client` options; `connectionString` wins when both are given. */
	client?: ClientConfig;
	/**
	 * Read replicas of the primary: a connection string, or `pg.Client`
	 * options, each (one client per replica, owned by these stores, its
	 * statements queued on it as the primary's are). `findOne`, `findMany` and
	 * `count` outside transactions go to a healthy one; every write,
	 * transaction and store to the primary. See `replicatedDriver` in
	 * `@authpg/core/driver` for the routing, read-your-writes and lag rules.
	 */
	replicas?: readonly (string | ClientConfig)[];
}

/** Options of {@link fromClient}. */
export interface NodePostgresFromClientOptions
	extends StoresOptions,
		Omit<NodePostgresDriverOptions, "ownsClient">,
		ReplicaOptions {
	/**
	 * `pg.Client`s of read replicas the application owns (`close()` leaves
	 * them open); see {@link NodePostgresStoresConfig.replicas}.
	 */
	replicas?: readonly Client[];
}

/**
 * Stores over one `pg.Client` these stores own. Synchronous and lazy: the
 * client connects on the first query. Statements are queued on the one
 * connection, and a transaction holds it until it ends. `close()` ends it
 * (and the replicas' clients).
 *
 * @example With a read replica
 * ```ts
 * const stores = createStores({
 *   connectionString: process.env.DATABASE_URL,
 *   replicas: [process.env.REPLICA_URL!],
 * });
 * ```
 */
export function createStores(config: NodePostgresStoresConfig = {}): Stores {
	const { connectionString, client, preparedStatements, maxPreparedStatements, replicas = [], ...rest } = config;
	const [replicaOptions, storesOptions] = splitReplicaOptions(rest);
	const driverOptions: CreateNodePostgresDriverOptions = { preparedStatements, maxPreparedStatements };
	const clientConfig: ClientConfig = { ...client, ...(connectionString ? { connectionString } : {}) };
	const key = JSON.stringify([clientConfig, driverOptions, replicas, replicaOptions]);
	const { driver, release } = sharedDriver(`node-postgres\u0000${key}`, () =>
		withReplicas(
			createDriver(clientConfig, driverOptions),
			replicas.map((replica) => createDriver(replica, driverOptions)),
			replicaOptions,
		),
	);
	return storesFor(driver, storesOptions, release);
}

/**
 * Stores over a `pg.Client` the application owns (connected or not); `close()`
 * leaves it open. Route every query of that client through these stores (or
 * `stores.kysely`) while they are in use: the driver queues statements itself.
 */
export function fromClient(client: Client, options: NodePostgresFromClientOptions = {}): Stores {
	const { preparedStatements, maxPreparedStatements, replicas = [], ...rest } = options;
	const [replicaOptions, storesOptions] = splitReplicaOptions(rest);
	const driverOptions = { preparedStatements, maxPreparedStatements };
	const driver: Driver = withReplicas(
		nodePostgresDriver(client, driverOptions),
		replicas.map((replica) => nodePostgresDriver(replica, driverOptions)),
		replicaOptions,
	);
	return storesFor(driver, storesOptions, () => driver.close());
}
