import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

let database: TestDatabase;
beforeAll(async () => {
	database = await startTestDatabase({ prefix: "pool_stores" });
});
afterAll(() => database?.close());

async function connections(applicationName: string): Promise<number> {
	const admin = new pg.Client(database.url);
	await admin.connect();
	try {
		const { rows } = await admin.query("select count(*)::int as n from pg_stat_activity where application_name = $1", [
			applicationName,
		]);
		return rows[0].n;
	} finally {
		await admin.end();
	}
}

describe("createStores", () => {
	it("in development, a re-imported module (hot reload) reuses the pool for the same connection string", async () => {
		vi.stubEnv("NODE_ENV", "development");
		const applicationName = `authpg_hmr_${Math.random().toString(36).slice(2, 8)}`;
		const config = { connectionString: database.url, pool: { application_name: applicationName, max: 3 } };
		try {
			const first = (await import("../src/index.js")).createStores(config);
			vi.resetModules();
			const reloaded = await import("../src/index.js");
			const second = reloaded.createStores(config);
			expect(second.driver).toBe(first.driver);
			await Promise.all(Array.from({ length: 6 }, () => second.driver.query("select pg_sleep(0.05)", [])));
			expect(await connections(applicationName)).toBeLessThanOrEqual(3);
			await first.close();
			await second.driver.query("select 1", []); // still open: the reloaded module holds it
			await second.close();
			await expect.poll(() => connections(applicationName)).toBe(0);
		} finally {
			vi.unstubAllEnvs();
		}
	});

	it("outside development every createStores owns its own pool", async () => {
		const { createStores } = await import("../src/index.js");
		const a = createStores({ connectionString: database.url });
		const b = createStores({ connectionString: database.url });
		expect(a.driver).not.toBe(b.driver);
		await Promise.all([a.close(), b.close()]);
	});

	it("applyTo wires the adapter and the rate-limit store; migrate creates their tables", async () => {
		const { createStores } = await import("../src/index.js");
		const stores = createStores({ connectionString: database.url, schema: "auth", secondaryStorage: true });
		try {
			const options = stores.applyTo({ emailAndPassword: { enabled: true } });
			expect(options.database).toBe(stores.adapter);
			expect(options.rateLimit.customStorage).toBe(stores.rateLimitStorage);
			expect((options as { secondaryStorage?: unknown }).secondaryStorage).toBe(stores.secondaryStorage);
			const plan = await stores.migrate(options);
			const tables = plan.steps.filter((s) => s.kind === "createTable").map((s) => s.target);
			expect(tables).toEqual(expect.arrayContaining(["user", "account", "authpg_rate_limit", "authpg_kv"]));
			expect((await stores.migrate(options)).steps).toEqual([]);
		} finally {
			await stores.close();
		}
	});
});
