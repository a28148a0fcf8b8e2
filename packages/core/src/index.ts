export { type PostgresAdapterOptions, postgresAdapter } from "./adapter/adapter.js";
export {
	type CallerTransaction,
	CallerTransactionNotSupportedByDriverError,
	CallerTransactionUnsupportedError,
	joinCallerTransactions,
	runCallerTransaction,
} from "./stores/caller-transaction.js";
export type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./driver/contract.js";
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
export { HISTORY_TABLE, lastMigration, type MigrationRecord } from "./migrations/history.js";
export {
	introspect,
	type LiveColumn,
	type LiveForeignKey,
	type LiveIndex,
	type LiveSchema,
	type LiveTable,
	type OnDelete,
} from "./migrations/introspect.js";
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
} from "./keystore/key-store.js";
export * from "./driver/kysely-dialect.js";
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
} from "./migrations/apply.js";
export {
	type CompiledSchema,
	compileSchema,
	type FieldInfo,
	type FieldKind,
	type IdKind,
	type ModelInfo,
	type SchemaOptions,
} from "./model.js";
export { isStatementError, type PgLikeClient, type PgLikeResult, parsedStatements, runOnClient } from "./driver/pg-client.js";
export { type PgLikePool, type PgLikePoolClient, type PgPoolDriverOptions, pgPoolDriver } from "./driver/pg-pool.js";
export {
	type PruneCount,
	type PruneOptions,
	type PruneTarget,
	prune,
	pruneBatchSql,
	pruneSql,
	pruneTargets,
} from "./stores/prune.js";
export { type RateLimitStorage, type RateLimitStorageOptions, rateLimitStorage } from "./stores/rate-limit.js";
export type { IndexDefinition, SchemaStep, StepKind, StepSafety } from "./migrations/ddl.js";
export { type PostgresSecondaryStorage, type SecondaryStorageOptions, secondaryStorage } from "./stores/secondary-storage.js";
export { STORE_NAMES, type StoreName, storesIn } from "./stores/tables.js";
export { type AppliedOptions, type Stores, type StoresOptions, sharedDriver, storesFor } from "./stores/wiring.js";
export { formatPgTimestamptz, parsePgTimestamp } from "./driver/timestamp-text.js";
export * from "./driver/transaction.js";
