import type { Driver } from "@authpg/core";
import { arraysSuite } from "./arrays.js";
import { inputSuite } from "./input.js";
import { joinsSuite } from "./joins.js";
import { kyselySuite } from "./kysely.js";
import { namespaceSuite } from "./namespace.js";
import { schemaSuite } from "./schema.js";
import { whereSuite } from "./where.js";
import { writesSuite } from "./writes.js";

/** Register authpg's own suites on `driver` (one database of their own). */
export function registerOwnSuites(driver: () => Driver): void {
	arraysSuite(driver);
	namespaceSuite(driver);
	joinsSuite(driver);
	whereSuite(driver);
	writesSuite(driver);
	inputSuite(driver);
	kyselySuite(driver);
	schemaSuite(driver);
}
