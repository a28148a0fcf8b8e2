/**
 * `stores.prune()` under load, and `authpg prune` as users run it (the built
 * binary in a temporary project) against a real database.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import type { Stores } from "@authpg/core";
import { createStores } from "@authpg/pool";
import { betterAuth } from "better-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCHEMA = "prune_app";
const EXPIRED = 50_000;
const LIVE = 50_000;

let db: TestDatabase;
let stores: Stores;
let project: string;
const options = { emailAndPassword: { enabled: true }, secret: "prune-test-secret-0123456789abcdef" };

const authpg = (...args: string[]) => runCli(project, args);

const q = async (sql: string) => (await stores.driver.query<{ n: number }>(sql, [])).rows;
const count = async (where: string) => Number((await q(`select count(*)::int as n from ${where}`))[0]!.n);

async function seed(expired: number, live: number) {
	await q(`truncate ${SCHEMA}."session", ${SCHEMA}."verification", ${SCHEMA}.authpg_rate_limit, ${SCHEMA}.authpg_kv`);
	await q(`insert into ${SCHEMA}."session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "userId")
		select 'e' || i, now() - interval '1 minute', 'te' || i, now(), now(), 'u1' from generate_series(1, ${expired}) i`);
	await q(`insert into ${SCHEMA}."session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "userId")
		select 'l' || i, now() + interval '7 days', 'tl' || i, now(), now(), 'u1' from generate_series(1, ${live}) i`);
	await q(`insert into ${SCHEMA}."verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt")
		select 'v' || i, 'id' || i, 'x', now() + (case when i % 2 = 0 then interval '-1 hour' else interval '1 hour' end), now(), now()
		from generate_series(1, 30) i`);
	await q(`insert into ${SCHEMA}.authpg_rate_limit ("key", "count", "last_request", "allowed", "expires_at")
		select 'r' || i, 1, 0, true, now() + (case when i <= 7 then interval '-1 second' else interval '1 minute' end)
		from generate_series(1, 10) i`);
	await q(`insert into ${SCHEMA}.authpg_kv ("key", "value", "expires_at")
		values ('gone', 'x', now() - interval '1 second'), ('kept', 'x', now() + interval '1 hour'), ('forever', 'x', null)`);
}

beforeAll(async () => {
	db = await startTestDatabase({ prefix: "prune" });
	stores = createStores({ connectionString: db.url, schema: SCHEMA, pool: { max: 6 } });
	await stores.migrate(options, { stores: ["rateLimit", "secondaryStorage", "keyStore"] });
	await q(`insert into ${SCHEMA}."user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt")
		values ('u1', 'u', 'u@example.com', false, now(), now())`);
	project = join(here, `.tmp-prune-${process.pid}-${Date.now().toString(36)}`);
	mkdirSync(join(project, "src"), { recursive: true });
	writeFileSync(
		join(project, "auth.ts"),
		`import { betterAuth } from "better-auth";
import { createStores } from "@authpg/pool";
export const stores = createStores({ connectionString: ${JSON.stringify(db.url)}, schema: "${SCHEMA}" });
export const auth = betterAuth(stores.applyTo(${JSON.stringify(options)}));
`,
	);
});

afterAll(async () => {
	if (project) rmSync(project, { recursive: true, force: true });
	await stores?.close();
	await db?.close();
});

describe("stores.prune", () => {
	it(`${EXPIRED} expired and ${LIVE} live sessions: every expired one goes, every live one stays, getSession keeps answering`, async () => {
		await seed(EXPIRED, LIVE);
		const dry = await stores.prune(options, { dryRun: true });
		expect(dry.map((c) => [c.table, c.rows])).toEqual([
			[`"${SCHEMA}"."session"`, EXPIRED],
			[`"${SCHEMA}"."verification"`, 15],
			[`"${SCHEMA}"."authpg_rate_limit"`, 7],
			[`"${SCHEMA}"."authpg_kv"`, 1],
			[`"${SCHEMA}"."authpg_keystore_key"`, 0],
		]);
		expect(await count(`${SCHEMA}."session"`)).toBe(EXPIRED + LIVE);

		// Better Auth's own session lookup (what getSession runs), on live tokens, for as long as the prune runs.
		const auth = betterAuth(stores.applyTo(options));
		const ctx = await auth.$context;
		let pruning = true;
		let lookups = 0;
		const failures: unknown[] = [];
		const load = async () => {
			while (pruning) {
				const token = `tl${1 + Math.floor(Math.random() * LIVE)}`;
				try {
					const found = await ctx.internalAdapter.findSession(token);
					if (found?.session.token !== token) failures.push(`no session for ${token}`);
				} catch (error) {
					failures.push(error);
				}
				lookups++;
			}
		};
		const loaders = [load(), load(), load()];
		const started = performance.now();
		const counts = await stores.prune(options, { batchSize: 2000 }).finally(() => {
			pruning = false;
		});
		const ms = performance.now() - started;
		await Promise.all(loaders);
		expect(failures).toEqual([]);
		expect(lookups).toBeGreaterThan(10);
		const session = counts.find((c) => c.table.endsWith('"session"'))!;
		expect(session.rows).toBe(EXPIRED);
		expect(session.batches).toBe(EXPIRED / 2000 + 1);
		expect(await count(`${SCHEMA}."session" where "expiresAt" < now()`)).toBe(0);
		expect(await count(`${SCHEMA}."session" where "id" like 'l%'`)).toBe(LIVE);
		expect(await count(`${SCHEMA}."verification"`)).toBe(15);
		expect(await count(`${SCHEMA}.authpg_rate_limit`)).toBe(3);
		expect((await q(`select "key" as n from ${SCHEMA}.authpg_kv order by 1`)).map((r) => r.n)).toEqual([
			"forever",
			"kept",
		]);
		console.info(
			`prune: ${EXPIRED} expired of ${EXPIRED + LIVE} sessions in ${Math.round(ms)} ms, ${lookups} lookups meanwhile`,
		);
	}, 180_000);
});

describe("stores.prune and signing keys", () => {
	it("deletes keys past expiry plus the grace period (default 30 days), keeps those within it", async () => {
		await q(`insert into ${SCHEMA}.authpg_keystore ("vault_id", "salt", "iterations", "version", "verifier")
			values ('default', 's', 1, 1, 'v') on conflict do nothing`);
		await q(`insert into ${SCHEMA}.authpg_keystore_key ("id", "vault_id", "version", "public_key", "ciphertext", "created_at", "expires_at")
			values ('old', 'default', 1, 'p', 'c', now() - interval '90 days', now() - interval '31 days'),
			       ('grace', 'default', 1, 'p', 'c', now() - interval '60 days', now() - interval '29 days'),
			       ('current', 'default', 1, 'p', 'c', now(), null)`);
		const counts = await stores.prune(options);
		expect(counts.find((c) => c.table.endsWith('"authpg_keystore_key"'))?.rows).toBe(1);
		const left = await q(`select "id" as n from ${SCHEMA}.authpg_keystore_key order by 1`);
		expect(left.map((r) => r.n)).toEqual(["current", "grace"]);
		await stores.prune(options, { keyGraceMs: 0 });
		expect((await q(`select "id" as n from ${SCHEMA}.authpg_keystore_key`)).map((r) => r.n)).toEqual(["current"]);
	});
});

describe("authpg prune", () => {
	it("--dry-run counts and deletes nothing; prune deletes and prints counts per table", async () => {
		await seed(120, 80);
		const dry = await authpg("prune", "--dry-run");
		expect(dry.stderr).not.toMatch(/authpg:/);
		expect(dry.code).toBe(0);
		expect(dry.stdout).toMatch(new RegExp(`"${SCHEMA}"\\."session"\\s+120$`, "m"));
		expect(dry.stdout).toContain("143 rows would be deleted");
		expect(await count(`${SCHEMA}."session"`)).toBe(200);
		const run = await authpg("prune", "--batch-size", "50", "--json");
		expect(run.code).toBe(0);
		const result = JSON.parse(run.stdout);
		expect(result.tables[0]).toEqual({ table: `"${SCHEMA}"."session"`, rows: 120, batches: 3 });
		expect(await count(`${SCHEMA}."session"`)).toBe(80);
		expect((await authpg("prune", "--batch-size", "0")).code).toBe(2);
	});

	it("--schedule without pg_cron says so, prints SQL that prunes, and schedules nothing", async () => {
		// The fallback runs wherever pg_cron is not created in this database, whether or not the server offers it.
		const cron = await q("select count(*)::int as n from pg_catalog.pg_extension where extname = 'pg_cron'");
		expect(Number(cron[0]!.n)).toBe(0);
		await seed(30, 20);
		const run = await authpg("prune", "--schedule", "0 3 * * *");
		expect(run.code).toBe(1);
		expect(run.stderr).toMatch(/pg_cron is not installed.*nothing was scheduled/);
		expect(run.stdout).toMatch(/^do \$authpg\$/);
		expect(await count(`${SCHEMA}."session"`)).toBe(50);
		await q(run.stdout.trim().replace(/;$/, ""));
		expect(await count(`${SCHEMA}."session"`)).toBe(20);
		expect(await count(`${SCHEMA}.authpg_kv`)).toBe(2);
	});
});
