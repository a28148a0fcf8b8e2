/**
 * What the example would export as a driver package: stores for an application, built from the
 * driver with the kit's `storesFor` (adapter, rate limit, secondary storage, key store, Kysely,
 * migrations, caller transactions), as every authpg package does.
 */
import { type Stores, type StoresOptions, storesFor } from "@authpg/core/driver";
import pg from "pg";
import { exampleDriver } from "./driver.js";

export { exampleDriver };

/** Stores over a new `pg.Pool` for `connectionString`; `close()` ends the pool. */
export function createStores(connectionString: string, options: StoresOptions = {}): Stores {
	const driver = exampleDriver(new pg.Pool({ connectionString }));
	return storesFor(driver, options, () => driver.close());
}
