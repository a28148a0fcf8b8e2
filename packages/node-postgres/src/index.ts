import { type Driver, type Stores, type StoresOptions, sharedDriver, storesFor } from "@authpg/core/driver";
import type { Client, ClientConfig } from "pg";
import {
	type CreateNodePostgresDriverOptions,
	createDriver,
	type NodePostgresDriverOptions,
	nodePostgresDriver,
} from "./driver.js";

export type { Stores, StoresOptions };
export { type CreateNodePostgresDriverOptions, createDriver, type NodePostgresDriverOptions, nodePostgresDriver };

/** Configuration of {@link createStores}. */
export interface NodePostgresStoresConfig extends StoresOptions, CreateNodePostgresDriverOptions {
	/** `postgres://…`; or give `client` options instead. */
	connectionString?: string;
	/** `pg.Client` options; `connectionString` wins when both are given. */
	client?: ClientConfig;
}

/**
 * Stores over one `pg.Client` these stores own. Synchronous and lazy: the
 * client connects on the first query. Statements are queued on the one
 * connection, and a transaction holds it until it ends. `close()` ends it.
 */
export function createStores(config: NodePostgresStoresConfig = {}): Stores {
	const { connectionString, client, preparedStatements, maxPreparedStatements, ...storesOptions } = config;
	const driverOptions: CreateNodePostgresDriverOptions = { preparedStatements, maxPreparedStatements };
	const clientConfig: ClientConfig = { ...client, ...(connectionString ? { connectionString } : {}) };
	const { driver, release } = sharedDriver(`node-postgres\u0000${JSON.stringify([clientConfig, driverOptions])}`, () =>
		createDriver(clientConfig, driverOptions),
	);
	return storesFor(driver, storesOptions, release);
}

/**
 * Stores over a `pg.Client` the application owns (connected or not); `close()`
 * leaves it open. Route every query of that client through these stores (or
 * `stores.kysely`) while they are in use: the driver queues statements itself.
 */
export function fromClient(
	client: Client,
	options: StoresOptions & Omit<NodePostgresDriverOptions, "ownsClient"> = {},
): Stores {
	const { preparedStatements, maxPreparedStatements, ...storesOptions } = options;
	const driver: Driver = nodePostgresDriver(client, { preparedStatements, maxPreparedStatements });
	return storesFor(driver, storesOptions, () => driver.close());
}
