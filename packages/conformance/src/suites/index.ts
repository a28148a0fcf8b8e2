import type { Driver } from "@authpg/core";
import { arraysSuite } from "./arrays.js";
import { callerTransactionSuite } from "./caller-transaction.js";
import { concurrencySuite } from "./concurrency.js";
import { driverContractSuite } from "./driver-contract.js";
import { eventsSuite } from "./events.js";
import { eventPluginsSuite } from "./events-plugins.js";
import { identifiersSuite } from "./identifiers.js";
import { inputSuite } from "./input.js";
import { joinsSuite } from "./joins.js";
import { keystoreSuite } from "./keystore.js";
import { keystoreDamageSuite } from "./keystore-damage.js";
import { kyselySuite } from "./kysely.js";
import { migrationAdoptionSuite } from "./migrations-adopt.js";
import { migrationApplyingSuite } from "./migrations-apply.js";
import { migrationPlanningSuite } from "./migrations-plan.js";
import { namespaceSuite } from "./namespace.js";
import { sealedFieldsSuite } from "./sealed-fields.js";
import { storesSuite } from "./stores.js";
import { whereSuite } from "./where.js";
import { writesSuite } from "./writes.js";

/** What a suite gets: the driver under test, a way to open another one, and the database URL. */
export interface SuiteContext {
	driver: () => Driver;
	/**
	 * A second driver of the same kind on the same database (for concurrent
	 * clients); the caller closes it. Absent for a single-session target.
	 */
	connect: (() => Driver | Promise<Driver>) | undefined;
	/** The database's URL; absent for a single-session target, which has no server. */
	url: string | undefined;
	/** How the driver maps callers to sessions (see {@link ConnectionModel}). */
	connections: ConnectionModel;
}

/**
 * `"pool"`: concurrent transactions run on separate connections.
 * `"one"`: every caller queues on one session, and a running transaction holds it.
 */
export type ConnectionModel = "pool" | "one";

/** Register authpg's own suites (on a database of their own). */
export function registerOwnSuites(context: SuiteContext): void {
	const { driver } = context;
	driverContractSuite(driver, context.connections);
	arraysSuite(driver);
	namespaceSuite(driver);
	joinsSuite(driver);
	whereSuite(driver);
	writesSuite(driver);
	inputSuite(driver);
	kyselySuite(driver);
	migrationPlanningSuite(driver);
	migrationApplyingSuite(context);
	migrationAdoptionSuite(context);
	storesSuite(driver);
	eventsSuite(driver);
	eventPluginsSuite(driver);
	keystoreSuite(driver);
	callerTransactionSuite(context);
	concurrencySuite(driver);
	identifiersSuite(driver);
	keystoreDamageSuite(driver);
	sealedFieldsSuite(driver);
}
