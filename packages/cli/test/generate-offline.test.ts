/**
 * `authpg generate --offline`: the SQL for a fresh install with no database at
 * hand. The config's own database does not exist (a closed port), so any
 * connection attempt would fail the command; the SQL is then checked against
 * embedded PGlite: it equals what `applyMigrations` applies to an empty
 * database, and run by hand it leaves a database the planner finds in sync.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyMigrations, type MigrationPlan, planMigrations, planSql } from "@authpg/core";
import { pgliteDriver } from "@authpg/pglite";
import { PGlite } from "@electric-sql/pglite";
import type { BetterAuthOptions } from "better-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const UNREACHABLE = "postgres://postgres@127.0.0.1:1/nowhere";

const authpg = (cwd: string, ...args: string[]) => runCli(cwd, args);

/** The SQL without `generate`'s header comment. */
const body = (sql: string) => sql.replace(/^(--[^\n]*\n)+\n/, "");

let dir: string;
let options: BetterAuthOptions;
let closeStores: () => Promise<void>;

beforeAll(async () => {
	// Inside this package, so better-auth and @authpg/pool resolve from its node_modules.
	dir = join(here, `.tmp-generate-${process.pid}-${Date.now().toString(36)}`);
	mkdirSync(dir, { recursive: true });
	writeFileSync(
		join(dir, "auth.ts"),
		`import { betterAuth } from "better-auth";
import { organization, twoFactor } from "better-auth/plugins";
import { createStores } from "@authpg/pool";
export const stores = createStores({ connectionString: ${JSON.stringify(UNREACHABLE)} });
export const auth = betterAuth(stores.applyTo({
	baseURL: "http://localhost:3000",
	emailAndPassword: { enabled: true },
	plugins: [organization(), twoFactor(), { id: "bag", schema: { bag: { fields: { tags: { type: "string[]", required: false } } } } }],
}));
`,
	);
	// The very options the CLI sees: the same file, loaded here.
	const config = (await import(join(dir, "auth.ts"))) as {
		auth: { options: BetterAuthOptions };
		stores: { close(): Promise<void> };
	};
	options = config.auth.options;
	closeStores = () => config.stores.close();
});

afterAll(async () => {
	await closeStores?.();
	if (dir) rmSync(dir, { recursive: true, force: true });
});

async function withPglite<T>(fn: (db: PGlite) => Promise<T>): Promise<T> {
	const db = new PGlite();
	try {
		return await fn(db);
	} finally {
		await db.close();
	}
}

describe("authpg generate --offline", () => {
	let sql: string;

	it("prints the schema SQL without connecting (the config's database does not exist)", async () => {
		const run = await authpg(dir, "generate", "--offline");
		expect(run.stderr).not.toMatch(/authpg:|ECONNREFUSED/);
		expect(run.code).toBe(0);
		expect(run.stdout).toMatch(/^-- Better Auth schema for authpg/);
		for (const table of ["user", "session", "organization", "member", "invitation", "twoFactor", "bag"]) {
			expect(run.stdout).toContain(`create table if not exists "public"."${table}"`);
		}
		sql = run.stdout;
		// The same as without the flag: generate is offline either way.
		expect((await authpg(dir, "generate")).stdout).toBe(sql);
	});

	it("equals what applyMigrations applies to an empty database (PGlite)", async () => {
		const applied: MigrationPlan = await withPglite((db) => applyMigrations(pgliteDriver(db), options));
		expect(applied.steps.length).toBeGreaterThan(10);
		expect(planSql(applied)).toBe(body(sql));
	});

	it("run by hand on an empty database (PGlite), leaves it in sync: the planner reports no steps", async () => {
		const plan = await withPglite(async (db) => {
			await db.exec(body(sql));
			return planMigrations(pgliteDriver(db), options);
		});
		expect(plan.blockers).toEqual([]);
		expect(plan.steps).toEqual([]);
	});
});
