export { type PostgresAdapterOptions, postgresAdapter } from "./adapter.js";
export {
	type CallerTransaction,
	CallerTransactionNotSupportedByDriverError,
	CallerTransactionUnsupportedError,
	joinCallerTransactions,
	runCallerTransaction,
} from "./caller-transaction.js";
export type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./driver.js";
export {
	AuthpgError,
	ConnectionError,
	InvalidValueError,
	isConnectionError,
	PreparedStatementError,
	QueryError,
	QueryTimeoutError,
	toQueryError,
	UnknownFieldError,
	UnknownModelError,
} from "./errors.js";
export { HISTORY_TABLE, lastMigration, type MigrationRecord } from "./history.js";
export {
	introspect,
	type LiveColumn,
	type LiveForeignKey,
	type LiveIndex,
	type LiveSchema,
	type LiveTable,
	type OnDelete,
} from "./introspect.js";
export {
	KEYSTORE_ITERATIONS,
	type KeyStore,
	type KeyStoreOptions,
	KeystoreIntegrityError,
	type KeystoreJwk,
	type KeystoreJwkAlg,
	type KeystoreJwtAdapter,
	KeystoreNotConfiguredError,
	KeystoreNotFoundError,
	KeystorePasswordError,
	keyStore,
	type RotateKeystorePasswordOptions,
	type RotateKeystorePasswordResult,
	rotateKeystorePassword,
} from "./keystore.js";
export * from "./kysely.js";
export {
	type ApplyOptions,
	applyMigrations,
	type MigrationBlocker,
	MigrationError,
	type MigrationPlan,
	type MigrationStep,
	type PlanOptions,
	planFresh,
	planMigrations,
	planSql,
	UnsafeMigrationError,
} from "./migrate.js";
export {
	type CompiledSchema,
	compileSchema,
	type FieldInfo,
	type FieldKind,
	type IdKind,
	type ModelInfo,
	type SchemaOptions,
} from "./model.js";
export { isStatementError, type PgLikeClient, type PgLikeResult, parsedStatements, runOnClient } from "./pg-client.js";
export { type PgLikePool, type PgLikePoolClient, type PgPoolDriverOptions, pgPoolDriver } from "./pg-pool.js";
export {
	type PruneCount,
	type PruneOptions,
	type PruneTarget,
	prune,
	pruneBatchSql,
	pruneSql,
	pruneTargets,
} from "./prune.js";
export { type RateLimitStorage, type RateLimitStorageOptions, rateLimitStorage } from "./rate-limit.js";
export type { IndexDefinition, SchemaStep, StepKind, StepSafety } from "./schema.js";
export { type PostgresSecondaryStorage, type SecondaryStorageOptions, secondaryStorage } from "./secondary-storage.js";
export { STORE_NAMES, type StoreName, storesIn } from "./store-tables.js";
export { type AppliedOptions, type Stores, type StoresOptions, sharedDriver, storesFor } from "./stores.js";
export { formatPgTimestamptz, parsePgTimestamp } from "./timestamp-text.js";
export * from "./transaction.js";
