/**
 * `@authpg/core/driver`: for driver authors. The `Driver` seam, and the kit
 * the driver packages are built from: a FIFO gate, transactions with
 * savepoints over one dedicated connection, the single-session skeleton,
 * prepared-statement names, the connection-loss rules, drivers for any
 * node-postgres-compatible client or pool, read replicas, and the stores plumbing a driver
 * package exports as `createStores`/`fromClient`.
 */

export { AuthpgError } from "../errors.js";
export { joinCallerTransactions, runCallerTransaction } from "../stores/caller-transaction.js";
export { type AppliedOptions, type Stores, type StoresOptions, sharedDriver, storesFor } from "../stores/wiring.js";
export { isConnectionError, isStatementError } from "./connection-loss.js";
export type { Driver, DriverCapabilities, QueryOptions, QueryResult, ReadHint } from "./contract.js";
export { createGate, type Gate } from "./gate.js";
export { type KyselyDialectOptions, kyselyDialect } from "./kysely-dialect.js";
export { type PgLikeClient, type PgLikeResult, parsedStatements, runOnClient } from "./pg-client.js";
export { type PgLikePool, type PgLikePoolClient, type PgPoolDriverOptions, pgPoolDriver } from "./pg-pool.js";
export { DEFAULT_MAX_PREPARED_STATEMENTS, PreparedStatementNames } from "./prepared-names.js";
export {
	type ReadRoute,
	type ReplicaHealth,
	type ReplicaOptions,
	type ReplicatedDriver,
	type ReplicatedDriverOptions,
	replicatedDriver,
	splitReplicaOptions,
	withReplicas,
} from "./replicas.js";
export { driverClosedError, type SingleSession, singleSessionDriver } from "./single-session.js";
export { formatPgTimestamptz, parsePgTimestamp } from "./timestamp-text.js";
export {
	type DedicatedConnection,
	type RunStatement,
	runTransaction,
	type StatementResult,
	TransactionRolledBackError,
} from "./transaction.js";
export { TransactionContext } from "./transaction-context.js";
