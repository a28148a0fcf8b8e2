/**
 * `authpg prune --schedule` where pg_cron is installed: a throwaway PostgreSQL
 * cluster with pg_cron preloaded (the shared test servers cannot preload it),
 * the built binary in a temporary project. Skipped (loudly, with the reason in
 * the test name) only when no PostgreSQL binaries with pg_cron exist.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findPgCronServer, type PgCronServer, startPgCronServer } from "@authpg/conformance";
import type { Stores } from "@authpg/core";
import { createStores } from "@authpg/pool";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCHEMA = "prune_cron";
const JOB = `authpg-prune-${SCHEMA}`;
const options = {
	baseURL: "http://localhost:3000",
	emailAndPassword: { enabled: true },
	secret: "prune-schedule-secret-0123456789abcdef",
};

interface Job {
	jobid: string;
	jobname: string;
	schedule: string;
	command: string;
	database: string;
	username: string;
	active: boolean;
}

const found = await findPgCronServer();

if (!found.found) {
	const reason = `pg_cron tests SKIPPED: ${found.reason}`;
	console.warn(`\n${"!".repeat(100)}\n!!! ${reason}\n${"!".repeat(100)}\n`);
	describe("authpg prune --schedule with pg_cron", () => {
		it.skip(reason, () => {});
	});
} else {
	let server: PgCronServer;
	/** The database pg_cron belongs to, and one on the same server it does not. */
	let cronDb: Stores;
	let otherDb: Stores;
	let root: string;
	let cronProject: string;
	let otherProject: string;

	const query = async <T = Record<string, unknown>>(stores: Stores, sql: string) =>
		(await stores.driver.query<T>(sql, [])).rows;
	const count = async (stores: Stores, where: string) =>
		Number((await query<{ n: number }>(stores, `select count(*)::int as n from ${where}`))[0]!.n);
	const jobs = () =>
		query<Job>(
			cronDb,
			"select jobid::text, jobname, schedule, command, database, username, active from cron.job order by jobid",
		);

	/** 30 expired and 20 live sessions, one expired and one live key-value row. */
	async function seed(stores: Stores) {
		await query(stores, `truncate ${SCHEMA}."session", ${SCHEMA}.authpg_kv`);
		await query(
			stores,
			`insert into ${SCHEMA}."session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "userId")
			select 'e' || i, now() - interval '1 minute', 'te' || i, now(), now(), 'u1' from generate_series(1, 30) i`,
		);
		await query(
			stores,
			`insert into ${SCHEMA}."session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "userId")
			select 'l' || i, now() + interval '7 days', 'tl' || i, now(), now(), 'u1' from generate_series(1, 20) i`,
		);
		await query(
			stores,
			`insert into ${SCHEMA}.authpg_kv ("key", "value", "expires_at")
			values ('gone', 'x', now() - interval '1 second'), ('kept', 'x', now() + interval '1 hour')`,
		);
	}

	async function migrated(url: string): Promise<Stores> {
		const stores = createStores({ connectionString: url, schema: SCHEMA, pool: { max: 2 } });
		await stores.migrate(options, { stores: ["secondaryStorage"] });
		await query(
			stores,
			`insert into ${SCHEMA}."user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt")
			values ('u1', 'u', 'u@example.com', false, now(), now())`,
		);
		return stores;
	}

	/** A project whose auth.ts connects to `url`. */
	function project(name: string, url: string): string {
		const dir = join(root, name);
		mkdirSync(dir, { recursive: true });
		writeFileSync(
			join(dir, "auth.ts"),
			`import { betterAuth } from "better-auth";
import { createStores } from "@authpg/pool";
export const stores = createStores({ connectionString: ${JSON.stringify(url)}, schema: "${SCHEMA}" });
export const auth = betterAuth(stores.applyTo(${JSON.stringify(options)}));
`,
		);
		return dir;
	}

	beforeAll(async () => {
		server = await startPgCronServer({ database: "authpg_prune_cron", binDir: found.binDir });
		const otherUrl = server.url.replace(/\/authpg_prune_cron$/, "/authpg_prune_other");
		const admin = new pg.Client({ connectionString: server.adminUrl });
		await admin.connect();
		await admin.query("create database authpg_prune_other");
		await admin.end();
		[cronDb, otherDb] = await Promise.all([migrated(server.url), migrated(otherUrl)]);
		await query(cronDb, "create extension pg_cron");
		root = join(here, `.tmp-prune-schedule-${process.pid}-${Date.now().toString(36)}`);
		cronProject = project("cron", server.url);
		otherProject = project("other", otherUrl);
	});

	afterAll(async () => {
		if (root) rmSync(root, { recursive: true, force: true });
		await cronDb?.close();
		await otherDb?.close();
		await server?.close();
	});

	describe(`authpg prune --schedule with pg_cron (${found.version})`, () => {
		it("installs one named job; running it again reschedules that job instead of adding another; the printed unschedule removes it", async () => {
			const first = await runCli(cronProject, ["prune", "--schedule", "0 3 * * *"]);
			expect(first.stderr).toBe("");
			expect(first.code).toBe(0);
			expect(first.stdout).toContain(`Scheduled pg_cron job "${JOB}" at "0 3 * * *"`);
			const [job, ...more] = await jobs();
			expect(more).toEqual([]);
			expect(job).toMatchObject({
				jobname: JOB,
				schedule: "0 3 * * *",
				database: "authpg_prune_cron",
				username: "postgres",
				active: true,
			});
			expect(job!.command).toMatch(/^do \$authpg\$/);
			expect(job!.command).toContain(`"${SCHEMA}"."session"`);

			const again = await runCli(cronProject, ["prune", "--schedule", "30 4 * * *"]);
			expect(again.code).toBe(0);
			const after = await jobs();
			expect(after).toEqual([{ ...job, schedule: "30 4 * * *" }]);

			const unschedule = /Remove it with: (select cron\.unschedule\('[^']+'\));/.exec(again.stdout)?.[1];
			expect(unschedule).toBe(`select cron.unschedule('${JOB}')`);
			await query(cronDb, unschedule!);
			expect(await jobs()).toEqual([]);
		});

		it("the job's command, run as pg_cron would, deletes expired sessions and keeps live ones", async () => {
			const run = await runCli(cronProject, ["prune", "--schedule", "0 3 * * *"]);
			expect(run.code).toBe(0);
			const [job, ...more] = await jobs();
			expect(more).toEqual([]);
			await seed(cronDb);
			expect(await count(cronDb, `${SCHEMA}."session"`)).toBe(50);
			await query(cronDb, job!.command);
			expect(await count(cronDb, `${SCHEMA}."session" where "expiresAt" < now()`)).toBe(0);
			expect(await count(cronDb, `${SCHEMA}."session" where "id" like 'l%'`)).toBe(20);
			expect((await query<{ key: string }>(cronDb, `select "key" from ${SCHEMA}.authpg_kv`)).map((r) => r.key)).toEqual(
				["kept"],
			);
			await query(cronDb, `select cron.unschedule('${JOB}')`);
		});

		it("in a database pg_cron does not belong to: schedules nothing, exits 1, prints cron.schedule_in_database SQL that works from pg_cron's database", async () => {
			const run = await runCli(otherProject, ["prune", "--schedule", "0 3 * * *"]);
			expect(run.code).toBe(1);
			expect(run.stderr).toMatch(
				/pg_cron on this server belongs to database "authpg_prune_cron", not "authpg_prune_other".*nothing was scheduled/,
			);
			expect(run.stdout).toMatch(/^select cron\.schedule_in_database\(/);
			expect(await jobs()).toEqual([]);

			await query(cronDb, run.stdout.trim());
			const [job, ...more] = await jobs();
			expect(more).toEqual([]);
			expect(job).toMatchObject({ jobname: JOB, schedule: "0 3 * * *", database: "authpg_prune_other" });
			await seed(otherDb);
			await query(otherDb, job!.command);
			expect(await count(otherDb, `${SCHEMA}."session"`)).toBe(20);
			expect(await count(otherDb, `${SCHEMA}."session" where "expiresAt" < now()`)).toBe(0);
			await query(cronDb, `select cron.unschedule('${JOB}')`);
		});
	});
}
