import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { betterAuth } from "better-auth";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createStores, fromClient } from "../src/index.js";
import { freshPglite } from "./fresh.js";

const scratch = mkdtempSync(join(tmpdir(), "authpg-pglite-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const authOptions = { emailAndPassword: { enabled: true } };

describe("createStores", () => {
	it("starts nothing until the first query, retries a failed start, and keeps a data directory's rows across a restart", async () => {
		const parent = join(scratch, "persist");
		const dataDir = join(parent, "db");
		const stores = createStores({ dataDir, schema: "auth" });
		// PGlite creates the directory when it starts; it must not have started yet.
		expect(existsSync(dataDir)).toBe(false);
		// A file where the directory's parent should be: the start fails, and the next statement tries again.
		writeFileSync(parent, "in the way");
		await expect(stores.migrate(authOptions)).rejects.toThrow(/ENOTDIR/);
		rmSync(parent);
		mkdirSync(parent);
		const plan = await stores.migrate(authOptions);
		expect(existsSync(dataDir)).toBe(true);
		expect(plan.steps.filter((s) => s.kind === "createTable").map((s) => s.target)).toEqual(
			expect.arrayContaining(["user", "session", "account", "verification", "authpg_rate_limit"]),
		);
		const auth = betterAuth({ ...stores.applyTo(authOptions), secret: "s".repeat(32), baseURL: "http://localhost" });
		await auth.api.signUpEmail({ body: { email: "kept@example.com", password: "a-long-password", name: "Kept" } });
		await stores.close();

		const reopened = createStores({ dataDir, schema: "auth" });
		try {
			expect((await reopened.migrate(authOptions)).steps).toEqual([]);
			const adapter = reopened.adapter(authOptions);
			const user = await adapter.findOne<{ name: string }>({
				model: "user",
				where: [{ field: "email", value: "kept@example.com" }],
			});
			expect(user?.name).toBe("Kept");
		} finally {
			await reopened.close();
		}
	});

	it("closing stores that never ran a query starts nothing", async () => {
		const dataDir = join(scratch, "never");
		const stores = createStores({ dataDir });
		await stores.close();
		expect(existsSync(dataDir)).toBe(false);
		await expect(stores.driver.query("select 1", [])).rejects.toThrow(/closed/);
	});

	it("in development, a re-imported module (hot reload) reuses the instance for the same data directory", async () => {
		const dataDir = join(scratch, "hmr");
		vi.stubEnv("NODE_ENV", "development");
		try {
			const first = (await import("../src/index.js")).createStores({ dataDir });
			vi.resetModules();
			// A second instance on the directory would be refused (next test): getting stores at all means it is shared.
			const second = (await import("../src/index.js")).createStores({ dataDir });
			expect(second.driver).toBe(first.driver);
			await first.close();
			vi.unstubAllEnvs();
			// Still held by the reloaded module's stores...
			expect(() => createStores({ dataDir })).toThrow(/already open in this process/);
			await second.close();
			// ...and free once its last user closed it.
			await createStores({ dataDir }).close();
		} finally {
			vi.unstubAllEnvs();
		}
	});

	it("in memory nothing is shared, in development too: every call is its own database", async () => {
		vi.stubEnv("NODE_ENV", "development");
		try {
			const a = createStores();
			const b = createStores({ dataDir: "memory://" });
			try {
				// Both start at once (each runs initdb).
				const [, missing] = await Promise.allSettled([
					a.driver.query("create table only_in_a (x int)", []),
					b.driver.query("select pg_sleep(0.2); select * from only_in_a", []),
				]);
				expect(missing).toMatchObject({ status: "rejected", reason: { code: "42P01" } });
				expect((await a.driver.query("select count(*) from only_in_a", [])).rows).toEqual([{ count: "0" }]);
			} finally {
				await Promise.all([a.close(), b.close()]);
			}
		} finally {
			vi.unstubAllEnvs();
		}
	});

	it("outside development, a second open of a data directory already open in this process is refused", async () => {
		const dataDir = join(scratch, "twice");
		const first = createStores({ dataDir });
		expect(() => createStores({ dataDir })).toThrow(/already open in this process/);
		await first.close();
		// Once closed it may be opened again.
		const again = createStores({ dataDir });
		await again.close();
	});
});

describe("fromClient", () => {
	it("wires Better Auth over an instance the application owns, and leaves it open", async () => {
		const pglite = await freshPglite();
		const stores = fromClient(pglite, { secondaryStorage: true });
		try {
			const options = stores.applyTo(authOptions);
			expect(options.database).toBe(stores.adapter);
			expect(options.rateLimit.customStorage).toBe(stores.rateLimitStorage);
			expect((options as { secondaryStorage?: unknown }).secondaryStorage).toBe(stores.secondaryStorage);
			const plan = await stores.migrate(options);
			expect(plan.steps.filter((s) => s.kind === "createTable").map((s) => s.target)).toEqual(
				expect.arrayContaining(["user", "authpg_rate_limit", "authpg_kv"]),
			);
			const auth = betterAuth({ ...options, secret: "s".repeat(32), baseURL: "http://localhost" });
			const signUp = await auth.api.signUpEmail({
				body: { email: "own@example.com", password: "a-long-password", name: "Own" },
				returnHeaders: true,
			});
			const cookie = signUp.headers.get("set-cookie") ?? "";
			const session = await auth.api.getSession({ headers: new Headers({ cookie: cookie.split(";")[0] ?? "" }) });
			expect(session?.user.email).toBe("own@example.com");
			const { rows } = await pglite.query<{ n: number }>('select count(*)::int as n from "user"');
			expect(rows[0]?.n).toBe(1);
		} finally {
			await stores.close();
		}
		expect(pglite.closed).toBe(false);
		await pglite.close();
	});
});
