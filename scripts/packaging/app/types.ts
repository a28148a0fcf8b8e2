// Compiled, never run: the public API of every package, as an application and a driver author
// use it, type-checked under each moduleResolution the test configures.
import {
	type ConformanceTarget,
	countingDriver,
	runConformance,
	runFaults,
	startTestDatabase,
} from "@authpg/conformance";
import {
	type Driver,
	type MigrationPlan,
	planMigrations,
	postgresAdapter,
	QueryError,
	type Stores,
	secondaryStorage,
} from "@authpg/core";
import { createGate, runTransaction, sharedDriver, singleSessionDriver, storesFor } from "@authpg/core/driver";
import { createStores as neonStores } from "@authpg/neon";
import { fromClient as fromPgClient } from "@authpg/node-postgres";
import { createStores as pgliteStores } from "@authpg/pglite";
import { fromPool, createStores as poolStores } from "@authpg/pool";
import { createStores as postgresJsStores } from "@authpg/postgres-js";
import { betterAuth } from "better-auth";
import pg from "pg";
import postgres from "postgres";

export const kitExports = [createGate, runTransaction, sharedDriver, singleSessionDriver, storesFor, runFaults];

export function application(url: string): Stores[] {
	const pool = new pg.Pool({ connectionString: url });
	const all: Stores[] = [
		poolStores({ connectionString: url, schema: "auth", preparedStatements: false }),
		fromPool(pool),
		fromPgClient(new pg.Client({ connectionString: url })),
		postgresJsStores({ connectionString: url, postgres: { max: 4 } }),
		postgresJsStores({ connectionString: url }),
		neonStores({ connectionString: url, statements: "http" }),
		pgliteStores({ dataDir: "memory://" }),
	];
	const auth = betterAuth(all[0]!.applyTo({ emailAndPassword: { enabled: true } }));
	void auth.api.getSession;
	void postgres;
	return all;
}

export async function plan(driver: Driver): Promise<MigrationPlan> {
	const adapter = postgresAdapter(driver, { schema: "auth" });
	void adapter;
	void secondaryStorage(driver);
	try {
		return await planMigrations(driver, { emailAndPassword: { enabled: true } });
	} catch (error) {
		if (error instanceof QueryError) console.error(error.code);
		throw error;
	}
}

export async function conformance(target: ConformanceTarget): Promise<void> {
	const db = await startTestDatabase({ prefix: "types" });
	void countingDriver(await target.connect(db.url));
	await runConformance(target);
}
