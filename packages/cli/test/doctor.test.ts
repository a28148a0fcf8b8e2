/**
 * `authpg doctor` on a real database: healthy first, then each problem
 * seeded by hand and named in the findings.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCHEMA = "doctor_app";

let db: TestDatabase;
let client: pg.Client;
let project: string;

const authpg = (...args: string[]) => runCli(project, args);

beforeAll(async () => {
	db = await startTestDatabase({ prefix: "doctor" });
	client = new pg.Client({ connectionString: db.url });
	await client.connect();
	project = join(here, `.tmp-doctor-${process.pid}-${Date.now().toString(36)}`);
	mkdirSync(project, { recursive: true });
	writeFileSync(
		join(project, "auth.ts"),
		`import { betterAuth } from "better-auth";
import { createStores } from "@authpg/pool";
export const stores = createStores({ connectionString: ${JSON.stringify(db.url)}, schema: "${SCHEMA}" });
export const auth = betterAuth(stores.applyTo({
	emailAndPassword: { enabled: true },
	plugins: [{ id: "bag", schema: { bag: { fields: { tags: { type: "string[]", required: false } } } } }],
}));
`,
	);
});

afterAll(async () => {
	if (project) rmSync(project, { recursive: true, force: true });
	await client?.end();
	await db?.close();
});

describe("authpg doctor", () => {
	it("a freshly migrated database is healthy: exit 0, with server version and settings", async () => {
		expect((await authpg("migrate", "--yes")).code).toBe(0);
		const run = await authpg("doctor");
		expect(run.stderr).not.toMatch(/authpg:/);
		expect(run.code).toBe(0);
		expect(run.stdout).toMatch(
			/^Server \d+(\.\d+)?.*; statement_timeout \S+; idle_in_transaction_session_timeout \S+/m,
		);
		expect(run.stdout).toContain("No expired rows.");
		expect(run.stdout).toContain("Healthy: no findings.");
	});

	it("each seeded problem is a finding with what, why and fix; exit 1", async () => {
		await client.query(`alter table ${SCHEMA}."session" alter column "expiresAt" type timestamp`);
		await client.query(`alter table ${SCHEMA}."account" alter column "id" type uuid using gen_random_uuid()`);
		await client.query(`drop index ${SCHEMA}."session_userId_idx"`);
		await client.query(`alter table ${SCHEMA}."bag" alter column "tags" type jsonb using to_jsonb("tags")`);
		await client.query(`insert into ${SCHEMA}."user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt")
			values ('a', 'a', 'Ann@example.com', false, now(), now()), ('b', 'b', 'ann@example.com', false, now(), now())`);
		await client.query(`insert into ${SCHEMA}."verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt")
			values ('v', 'i', 'x', now() - interval '1 day', now(), now())`);
		const run = await authpg("doctor", "--json");
		expect(run.code).toBe(1);
		const report = JSON.parse(run.stdout);
		expect(report.healthy).toBe(false);
		const byCheck = (check: string) => report.findings.filter((f: { check: string }) => f.check === check);
		expect(byCheck("timestamptz")).toEqual([
			expect.objectContaining({ what: expect.stringContaining("session.expiresAt"), fix: expect.any(String) }),
		]);
		expect(byCheck("idType")).toEqual([expect.objectContaining({ what: expect.stringContaining("account.id") })]);
		expect(byCheck("missingIndex")).toEqual([
			expect.objectContaining({
				what: "session.userId has no index (session_userId_idx is missing).",
				fix: "authpg migrate --concurrently",
			}),
		]);
		expect(byCheck("jsonbArray")).toEqual([
			expect.objectContaining({ what: expect.stringContaining("bag.tags"), fix: "authpg migrate --convert-arrays" }),
		]);
		expect(byCheck("caseDuplicateEmails")).toEqual([
			expect.objectContaining({ what: expect.stringContaining("Ann@example.com = ann@example.com") }),
		]);
		for (const f of report.findings) expect(f.why.length).toBeGreaterThan(20);
		expect(report.findings).toHaveLength(5);
		expect(report.info.expiredRows[`"${SCHEMA}"."verification"`]).toBe(1);
		expect(report.info.server).toMatch(/^\d+/);

		const text = await authpg("doctor");
		expect(text.code).toBe(1);
		expect(text.stdout).toMatch(
			/✗ session\.userId has no index \(session_userId_idx is missing\)\.\n {2}why: .+\n {2}fix: authpg migrate --concurrently/,
		);
		expect(text.stdout).toContain("5 findings.");
	});

	it("exits 2 when the checks cannot run", async () => {
		const run = await authpg("doctor", "--url", "postgres://nobody@127.0.0.1:1/none");
		expect(run.code).toBe(2);
		expect(run.stderr).toMatch(/authpg: doctor could not run/);
	});
});

describe("authpg doctor: the lookup columns of enabled plugins", () => {
	const PLUGINS = "doctor_plugins";
	let dir: string;

	beforeAll(() => {
		dir = join(project, "plugins");
		mkdirSync(dir, { recursive: true });
		writeFileSync(
			join(dir, "auth.ts"),
			`import { betterAuth } from "better-auth";
import { organization, twoFactor } from "better-auth/plugins";
import { createStores } from "@authpg/pool";
export const stores = createStores({ connectionString: ${JSON.stringify(db.url)}, schema: "${PLUGINS}" });
export const auth = betterAuth(stores.applyTo({
	baseURL: "http://localhost:3000",
	emailAndPassword: { enabled: true },
	plugins: [organization(), twoFactor()],
}));
`,
		);
	});

	it("member.organizationId, member.userId and twoFactor.userId without their index are findings; a foreign key without one is info", async () => {
		expect((await authpg("migrate", "--yes", "--cwd", dir)).code).toBe(0);
		const healthy = await authpg("doctor", "--json", "--cwd", dir);
		expect(healthy.stderr).not.toMatch(/authpg:/);
		expect(JSON.parse(healthy.stdout).findings).toEqual([]);
		expect(healthy.code).toBe(0);

		await client.query(`drop index ${PLUGINS}."member_organizationId_idx"`);
		await client.query(`drop index ${PLUGINS}."member_userId_idx"`);
		// An index of Better Auth's name that serves only some rows: the planner sees the name, the doctor sees no usable index.
		await client.query(`drop index ${PLUGINS}."twoFactor_userId_idx"`);
		await client.query(
			`create index "twoFactor_userId_idx" on ${PLUGINS}."twoFactor" ("userId") where "backupCodes" is null`,
		);
		// A composite index led by the column still serves lookups by it: not reported.
		await client.query(`drop index ${PLUGINS}."invitation_organizationId_idx"`);
		await client.query(`create index "invitation_org_status" on ${PLUGINS}."invitation" ("organizationId", "status")`);

		const run = await authpg("doctor", "--json", "--cwd", dir);
		expect(run.code).toBe(1);
		const report = JSON.parse(run.stdout);
		const missing = report.findings.filter((f: { check: string }) => f.check === "missingIndex");
		expect(missing).toEqual([
			{
				check: "missingIndex",
				what: "member.organizationId has no index (member_organizationId_idx is missing).",
				why: "Better Auth looks member rows up by organizationId: without an index every such lookup scans the whole table.",
				fix: "authpg migrate --concurrently",
			},
			expect.objectContaining({
				what: "member.userId has no index (member_userId_idx is missing).",
				fix: "authpg migrate --concurrently",
			}),
			expect.objectContaining({
				what: "twoFactor.userId has no index.",
				fix: `create index concurrently if not exists "twoFactor_userId_lookup_idx" on "${PLUGINS}"."twoFactor" ("userId")`,
			}),
		]);
		// The composite index serves invitation lookups, but the planner still wants Better Auth's own index.
		expect(report.findings.filter((f: { check: string }) => f.check === "pending")).toEqual([
			expect.objectContaining({ what: "Pending: createIndex invitation_organizationId_idx." }),
		]);
		expect(report.findings).toHaveLength(4);
		expect(report.info.unindexedForeignKeys).toEqual(["invitation.inviterId"]);

		// The SQL of the fix works, and then the finding is gone.
		await client.query(missing[2].fix.replace(" concurrently", ""));
		await client.query(`drop index ${PLUGINS}."invitation_org_status"`);
		expect((await authpg("migrate", "--yes", "--cwd", dir)).code).toBe(0);
		const fixed = await authpg("doctor", "--json", "--cwd", dir);
		expect(JSON.parse(fixed.stdout).findings).toEqual([]);
		expect(fixed.code).toBe(0);
	});
});
