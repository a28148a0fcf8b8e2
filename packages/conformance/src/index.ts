export * from "./harness/database.js";
export {
	findPgCronServer,
	type PgCronServer,
	type PgCronServerLookup,
	type StartPgCronServerOptions,
	startPgCronServer,
} from "./harness/pg-cron-server.js";
export {
	findPgBouncer,
	type PgBouncer,
	type PgBouncerLookup,
	type StartPgBouncerOptions,
	startPgBouncer,
} from "./harness/pgbouncer.js";
export {
	type ReplicatedServer,
	type ReplicatedServerOptions,
	startReplica,
	startReplicatedServer,
	type TestReplica,
} from "./harness/replica.js";
export { type CountingDriver, countingDriver } from "./suites/counting-driver.js";
export { type DriverTestSchema, type DriverTestSchemaOptions, driverTestSchema } from "./suites/driver-test-schema.js";
export { expectNoPreparedStatements } from "./suites/prepared-off.js";
export { type ConformanceTarget, runConformance } from "./suites/run.js";
export { type FaultConnectOptions, type FaultTarget, runFaults } from "./suites/run-faults.js";
export { type ReplicaConformanceTarget, runReplicaConformance } from "./suites/run-replica.js";
