export { type PostgresAdapterOptions, postgresAdapter } from "./adapter.js";
export type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./driver.js";
export { AuthpgError, InvalidValueError, QueryError, UnknownFieldError, UnknownModelError } from "./errors.js";
export {
	introspect,
	type LiveColumn,
	type LiveForeignKey,
	type LiveIndex,
	type LiveSchema,
	type LiveTable,
	type OnDelete,
} from "./introspect.js";
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
export { type RateLimitStorage, type RateLimitStorageOptions, rateLimitStorage } from "./rate-limit.js";
export type { IndexDefinition, SchemaStep, StepKind, StepSafety } from "./schema.js";
export { type PostgresSecondaryStorage, type SecondaryStorageOptions, secondaryStorage } from "./secondary-storage.js";
export { STORE_NAMES, type StoreName, storesIn } from "./store-tables.js";
export { type AppliedOptions, type Stores, type StoresOptions, sharedDriver, storesFor } from "./stores.js";
export * from "./transaction.js";
