import { type Driver, type Stores, type StoresOptions, sharedDriver, storesFor } from "@authpg/core/driver";
import type { PGliteInterface } from "@electric-sql/pglite";
import { type CreatePgliteDriverOptions, createDriver, type PgliteDriverOptions, pgliteDriver } from "./driver.js";

export type { Stores, StoresOptions };
export { type CreatePgliteDriverOptions, createDriver, type PgliteDriverOptions, pgliteDriver };

/** Configuration of {@link createStores}. */
export interface PgliteStoresConfig extends StoresOptions, CreatePgliteDriverOptions {}

/**
 * Stores over a PGlite database these stores own: in memory (the default,
 * gone when the process ends) or in `dataDir`. Synchronous and lazy: PGlite
 * starts on the first query, so this can sit at module top level.
 * `close()` closes it.
 *
 * @example
 * ```ts
 * const stores = createStores({ dataDir: "./.pglite" });
 * await stores.migrate(authOptions);
 * export const auth = betterAuth(stores.applyTo(authOptions));
 * ```
 */
export function createStores(config: PgliteStoresConfig = {}): Stores {
	const { dataDir, pglite, schema, usePlural, secondaryStorage, keystorePassword } = config;
	const create = () => claimed(dataDir, createDriver({ dataDir, pglite }));
	// In development a data directory keeps one instance across hot reloads; an in-memory database is new each time.
	const { driver, release } = isMemory(dataDir) ? ownDriver(create()) : sharedDriver(`pglite\u0000${dataDir}`, create);
	return storesFor(driver, { schema, usePlural, secondaryStorage, keystorePassword }, release);
}

/**
 * Stores over a PGlite instance the application owns; `close()` leaves it
 * open. Other code may keep using the instance: its queries wait while a
 * transaction of these stores runs, and the other way round.
 */
export function fromClient(pglite: PGliteInterface, options: StoresOptions = {}): Stores {
	const { schema, usePlural, secondaryStorage, keystorePassword } = options;
	const driver: Driver = pgliteDriver(pglite);
	return storesFor(driver, { schema, usePlural, secondaryStorage, keystorePassword }, () => driver.close());
}

function isMemory(dataDir: string | undefined): boolean {
	return dataDir === undefined || dataDir === "" || dataDir.startsWith("memory://");
}

const OPEN_DATA_DIRS = Symbol.for("authpg.pglite.openDataDirs");

/**
 * `driver` holding `dataDir` until it closes. Two PGlite instances on one data
 * directory do not see each other's writes, and whichever closes last
 * overwrites the other's, so a second open in the same process is refused
 * rather than losing data (in development `sharedDriver` hands out the one
 * already open instead).
 */
function claimed(dataDir: string | undefined, driver: Driver): Driver {
	if (isMemory(dataDir)) return driver;
	const key = dataDir as string;
	const holder = globalThis as Record<symbol, Set<string> | undefined>;
	const open = holder[OPEN_DATA_DIRS] ?? new Set<string>();
	holder[OPEN_DATA_DIRS] = open;
	if (open.has(key)) {
		throw new Error(
			`authpg: the PGlite data directory "${key}" is already open in this process. Two PGlite instances on one directory lose each other's writes: create the stores once and share them, or close the first before opening it again.`,
		);
	}
	open.add(key);
	let closing: Promise<void> | undefined;
	return {
		...driver,
		close() {
			closing ??= driver.close().finally(() => open.delete(key));
			return closing;
		},
	};
}

function ownDriver(driver: Driver): { driver: Driver; release: () => Promise<void> } {
	return { driver, release: () => driver.close() };
}
