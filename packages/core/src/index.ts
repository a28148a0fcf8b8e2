/**
 * `@authpg/core`: what applications use — the Better Auth adapter, the
 * stores, migrations, the key store and typed errors. Driver authors import
 * the `Driver` seam and the kit from `@authpg/core/driver`.
 */
export { type PostgresAdapterOptions, postgresAdapter } from "./adapter/adapter.js";
export {
	DEFAULT_HASHED_FIELDS,
	DEFAULT_SEALED_FIELDS,
	type SealedColumn,
	type SealOptions,
	sealedColumns,
} from "./adapter/sealed-fields.js";
export { isConnectionError } from "./driver/connection-loss.js";
export type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./driver/contract.js";
export { type KyselyDialectOptions, kyselyDialect } from "./driver/kysely-dialect.js";
export { TransactionRolledBackError } from "./driver/transaction.js";
export {
	AuthpgError,
	ConnectionError,
	InvalidValueError,
	PreparedStatementError,
	QueryError,
	QueryTimeoutError,
	SealedFieldConfigError,
	SealedFieldError,
	SealedFieldQueryError,
	toQueryError,
	UnknownFieldError,
	UnknownModelError,
} from "./errors.js";
export { type FieldKeysOptions, rotateFieldKey } from "./keystore/field-keys.js";
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
export {
	type ResealCount,
	type ResealOptions,
	type ResealProgress,
	type ResealResult,
	resealFields,
} from "./keystore/reseal.js";
export { HASHED_PREFIX, SEALED_PREFIX } from "./keystore/seal.js";
export { type ApplyOptions, applyMigrations, MigrationError, UnsafeMigrationError } from "./migrations/apply.js";
export type { IndexDefinition, SchemaStep, StepKind, StepSafety } from "./migrations/ddl.js";
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
	type MigrationBlocker,
	type MigrationPlan,
	type MigrationStep,
	type PlanOptions,
	planFresh,
	planMigrations,
	planSql,
} from "./migrations/plan.js";
export {
	type CompiledSchema,
	compileSchema,
	type FieldInfo,
	type FieldKind,
	type IdKind,
	type ModelInfo,
	type SchemaOptions,
} from "./model.js";
export {
	type CallerTransaction,
	CallerTransactionNotSupportedByDriverError,
	CallerTransactionUnsupportedError,
} from "./stores/caller-transaction.js";
export type { AdminPermission, EventEndpointOptions, EventsAdminCheck } from "./stores/event-endpoints.js";
export {
	type AuthEvent,
	type AuthEventInput,
	type AuthEventType,
	type EventPage,
	type EventStore,
	type EventStoreOptions,
	eventStore,
	type ListEventsOptions,
} from "./stores/events.js";
export { PrimaryReadsUnsupportedError } from "./stores/primary-reads.js";
export {
	dollarQuoted,
	type PruneCount,
	type PruneOptions,
	type PruneTarget,
	prune,
	pruneBatchSql,
	pruneSql,
	pruneTargets,
} from "./stores/prune.js";
export { type RateLimitStorage, type RateLimitStorageOptions, rateLimitStorage } from "./stores/rate-limit.js";
export {
	type PostgresSecondaryStorage,
	type SecondaryStorageOptions,
	secondaryStorage,
} from "./stores/secondary-storage.js";
export {
	EVENT_PARTITIONS_AHEAD,
	EVENT_TABLE,
	eventPartitionName,
	monthStart,
	STORE_NAMES,
	type StoreName,
	storesIn,
} from "./stores/tables.js";
export type { AppliedOptions, EventsOptions, Stores, StoresOptions } from "./stores/wiring.js";
