import type { Driver } from "@authpg/core";
import { expect } from "vitest";

/**
 * Checks a driver built with prepared statements off (for a pooler in
 * transaction mode): it says so in its capabilities, statements handed to it
 * with a name — alone and in a transaction — reach the client unnamed, and
 * the server holds no prepared statement. `sent` is every query config the
 * client received (the driver's own test records them); `items` a table with
 * a `label` text column.
 */
export async function expectNoPreparedStatements(driver: Driver, sent: readonly unknown[], items: string) {
	expect(driver.capabilities.preparedStatements).toBe(false);
	await driver.query(`insert into ${items} (label) values ($1)`, ["x"], { name: "authpg_off_1" });
	await driver.transaction((tx) => tx.query("select 1", [], { name: "authpg_off_2" }));
	const { rows } = await driver.query("select name from pg_prepared_statements", []);
	expect(rows).toEqual([]);
	expect(sent.length).toBeGreaterThan(3);
	for (const config of sent) expect((config as { name?: string }).name).toBeUndefined();
}
