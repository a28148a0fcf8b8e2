export { type PostgresAdapterOptions, postgresAdapter } from "./adapter.js";
export type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./driver.js";
export { AuthpgError, InvalidValueError, QueryError, UnknownFieldError, UnknownModelError } from "./errors.js";
export * from "./kysely.js";
export {
	introspect,
	type LiveColumn,
	type LiveSchema,
	MigrationError,
	type MigrationPlan,
	migrate,
	planAdditions,
	type SchemaConflict,
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
export { type IndexDefinition, type SchemaStep, schemaSql } from "./schema.js";
export { type Stores, type StoresOptions, sharedDriver, storesFor } from "./stores.js";
export * from "./transaction.js";
