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
import type { Sql } from "postgres";
import {
	type CreatePostgresJsDriverOptions,
	createDriver,
	type PostgresJsDriverOptions,
	type PostgresJsOptions,
	postgresJsDriver,
} from "./driver.js";

export type { ReplicaOptions, Stores, StoresOptions };
export {
	type CreatePostgresJsDriverOptions,
	createDriver,
	type PostgresJsDriverOptions,
	type PostgresJsOptions,
	postgresJsDriver,
};

/** Configuration of {@link createStores}. */
export interface PostgresJsStoresConfig extends StoresOptions, CreatePostgresJsDriverOptions, ReplicaOptions {
	/** `postgres://…`; without it postgres.js reads `PGHOST`, `PGUSER`, … as psql does. */
	connectionString?: string;
	/** postgres.js options (`max`, `idle_timeout`, `ssl`, …); `transform` and `types` do not apply. */
	postgres?: PostgresJsOptions;
	/**
	 * Connection strings of read replicas of the primary (each gets an instance
	 * with the same `postgres` options, owned by these stores). `findOne`,
	 * `findMany` and `count` outside transactions go to a healthy one; every
	 * write, transaction and store to the primary. See `replicatedDriver` in
	 * `@authpg/core/driver` for the routing, read-your-writes and lag rules.
	 */
	replicas?: readonly string[];
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
	const { connectionString, postgres, preparedStatements, replicas = [], ...rest } = config;
	const [replicaOptions, storesOptions] = splitReplicaOptions(rest);
	const driverOptions: CreatePostgresJsDriverOptions = { preparedStatements };
	const { driver, release } = sharedDriver(
		`postgres-js\u0000${JSON.stringify([connectionString ?? null, postgres ?? {}, driverOptions, replicas, replicaOptions])}`,
		() =>
			withReplicas(
				createDriver({ ...postgres, connectionString }, driverOptions),
				replicas.map((replica) => createDriver({ ...postgres, connectionString: replica }, driverOptions)),
				replicaOptions,
			),
	);
	return storesFor(driver, storesOptions, release);
}

/** Options of {@link fromClient}. */
export interface PostgresJsFromClientOptions
	extends StoresOptions,
		Omit<PostgresJsDriverOptions, "ownsClient">,
		ReplicaOptions {
	/** postgres.js instances of read replicas the application owns (`close()` leaves them open too). */
	replicas?: readonly Sql<any>[];
}

/**
 * Stores over a postgres.js instance the application owns; `close()` leaves
 * it open. Its `types` and value transforms do not change what the stores
 * read; an instance that renames columns (`transform: postgres.camel`) gets a
 * transform-free instance of the stores' own beside it (see
 * {@link postgresJsDriver}), which `close()` ends.
 */
export function fromClient(sql: Sql<any>, options: PostgresJsFromClientOptions = {}): Stores {
	const { preparedStatements, replicas = [], ...rest } = options;
	const [replicaOptions, storesOptions] = splitReplicaOptions(rest);
	const driver: Driver = withReplicas(
		postgresJsDriver(sql, { preparedStatements }),
		replicas.map((replica) => postgresJsDriver(replica, { preparedStatements })),
		replicaOptions,
	);
	return storesFor(driver, storesOptions, () => driver.close());
}
