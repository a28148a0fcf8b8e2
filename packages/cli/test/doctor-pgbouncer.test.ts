/**
 * `authpg doctor` and the pooler check behind a real PgBouncer: in transaction
 * mode with prepared statements on it is a finding; with them off, straight
 * to Postgres, or through PgBouncer in session mode it is not. Skipped
 * (loudly, with the reason in the test name) only when no `pgbouncer` binary
 * exists.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
	findPgBouncer,
	type PgBouncer,
	startPgBouncer,
	startTestDatabase,
	type TestDatabase,
} from "@authpg/conformance";
import { createDriver } from "@authpg/pool";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeTransactionPooler } from "../src/pooler.js";
import { runCli } from "./run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCHEMA = "doctor_pooler";

const found = await findPgBouncer();

const authpg = (cwd: string, ...args: string[]) => runCli(cwd, args);

if (!found.found) {
	const reason = `PgBouncer tests SKIPPED: ${found.reason}`;
	console.warn(`\n${"!".repeat(100)}\n!!! ${reason}\n${"!".repeat(100)}\n`);
	describe("authpg doctor behind PgBouncer (transaction pooling)", () => {
		it.skip(reason, () => {});
	});
} else {
	const { binary } = found;
	let db: TestDatabase;
	let transactionMode: PgBouncer;
	let sessionMode: PgBouncer;
	let root: string;

	/** A project whose auth.ts connects to `url` with `driverOptions`. */
	function project(name: string, url: string, driverOptions = ""): string {
		const dir = join(root, name);
		mkdirSync(dir, { recursive: true });
		writeFileSync(
			join(dir, "auth.ts"),
			`import { betterAuth } from "better-auth";
import { createStores } from "@authpg/pool";
export const stores = createStores({ connectionString: ${JSON.stringify(url)}, schema: "${SCHEMA}"${driverOptions} });
export const auth = betterAuth(stores.applyTo({ baseURL: "http://localhost:3000", emailAndPassword: { enabled: true } }));
`,
		);
		return dir;
	}

	beforeAll(async () => {
		db = await startTestDatabase({ prefix: "doctor_pooler" });
		[transactionMode, sessionMode] = await Promise.all([
			startPgBouncer(db.url, { binary }),
			startPgBouncer(db.url, { binary, poolMode: "session" }),
		]);
		// Inside this package, so better-auth and @authpg/pool resolve from its node_modules.
		root = join(here, `.tmp-doctor-pooler-${process.pid}-${Date.now().toString(36)}`);
		const direct = project("direct", db.url);
		// Migrated straight to the server: the findings below are about the pooler only.
		const migrated = await authpg(direct, "migrate", "--yes");
		expect(migrated.stderr).not.toMatch(/authpg:/);
		expect(migrated.code).toBe(0);
	});

	afterAll(async () => {
		if (root) rmSync(root, { recursive: true, force: true });
		await Promise.allSettled([transactionMode?.close(), sessionMode?.close()]);
		await db?.close();
	});

	describe("probeTransactionPooler", () => {
		const probe = async (url: string, max = 4) => {
			const driver = createDriver({ connectionString: url, max });
			try {
				return await probeTransactionPooler(driver, 2_000);
			} finally {
				await driver.close();
			}
		};

		it("PgBouncer in transaction mode: pooled, with the evidence", async () => {
			const result = await probe(transactionMode.route(db.url));
			expect(result).toEqual({ pooled: true, evidence: expect.stringMatching(/server process/) });
		});

		it("straight to Postgres: not pooled", async () => {
			const result = await probe(db.url);
			expect(result).toEqual({ pooled: false, evidence: expect.stringMatching(/kept server process \d+/) });
		});

		it("PgBouncer in session mode: not pooled (a client keeps its server session)", async () => {
			const result = await probe(sessionMode.route(db.url));
			expect(result).toEqual({ pooled: false, evidence: expect.stringMatching(/kept server process \d+/) });
		});

		it("a pool of one connection cannot be checked, and says so instead of hanging", async () => {
			const result = await probe(db.url, 1);
			expect(result).toEqual({ pooled: undefined, reason: expect.stringMatching(/pool of one connection/) });
		});

		it("repeated runs agree (no flakiness from which server connection PgBouncer hands out)", async () => {
			for (let i = 0; i < 5; i++) {
				expect((await probe(transactionMode.route(db.url))).pooled).toBe(true);
				expect((await probe(db.url)).pooled).toBe(false);
			}
		});
	});

	describe("authpg doctor", () => {
		it("prepared statements on behind PgBouncer in transaction mode: a finding with what, why and fix; exit 1", async () => {
			const run = await authpg(project("pooled", transactionMode.route(db.url)), "doctor", "--json");
			expect(run.stderr).not.toMatch(/authpg:/);
			expect(run.code).toBe(1);
			const report = JSON.parse(run.stdout);
			expect(report.findings).toEqual([
				{
					check: "preparedStatementsBehindPooler",
					what: expect.stringMatching(
						/^The pool driver prepares statements, and its connections go through a pooler in transaction mode: /,
					),
					why: expect.stringContaining("prepared statement … does not exist"),
					fix: "Pass preparedStatements: false to createStores (or the driver) in auth.ts, then authpg doctor",
				},
			]);
			expect(report.info.pooler).toMatch(/^transaction mode \(/);

			const text = await authpg(project("pooled", transactionMode.route(db.url)), "doctor");
			expect(text.code).toBe(1);
			expect(text.stdout).toMatch(
				/✗ The pool driver prepares statements, .+\n {2}why: .+\n {2}fix: Pass preparedStatements: false/,
			);
			expect(text.stdout).toContain("1 finding.");
		});

		it("with preparedStatements: false behind the same PgBouncer: healthy", async () => {
			const dir = project("unprepared", transactionMode.route(db.url), ", preparedStatements: false");
			const run = await authpg(dir, "doctor", "--json");
			expect(run.stderr).not.toMatch(/authpg:/);
			expect(JSON.parse(run.stdout)).toMatchObject({
				healthy: true,
				findings: [],
				info: { pooler: "not checked: the pool driver does not use prepared statements" },
			});
			expect(run.code).toBe(0);
		});

		it("prepared statements on, straight to Postgres or through session mode: healthy", async () => {
			for (const url of [db.url, sessionMode.route(db.url)]) {
				const run = await authpg(project("direct", url), "doctor", "--json");
				expect(run.stderr).not.toMatch(/authpg:/);
				const report = JSON.parse(run.stdout);
				expect(report.findings).toEqual([]);
				expect(report.info.pooler).toMatch(/^none in transaction mode \(one client connection kept server process \d+/);
				expect(run.code).toBe(0);
			}
		});
	});
}
