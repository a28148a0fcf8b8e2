export { type CountingDriver, countingDriver } from "./counting-driver.js";
export * from "./database.js";
export { type DriverTestSchema, type DriverTestSchemaOptions, driverTestSchema } from "./driver-test-schema.js";
export {
	findPgCronServer,
	type PgCronServer,
	type PgCronServerLookup,
	type StartPgCronServerOptions,
	startPgCronServer,
} from "./pg-cron-server.js";
export {
	findPgBouncer,
	type PgBouncer,
	type PgBouncerLookup,
	type StartPgBouncerOptions,
	startPgBouncer,
} from "./pgbouncer.js";
export { type ConformanceTarget, runConformance } from "./run.js";
export { type FaultConnectOptions, type FaultTarget, runFaults } from "./run-faults.js";
