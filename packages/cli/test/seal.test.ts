/**
 * `authpg keystore seal`, `authpg keystore rotate` and doctor's clear-value
 * check, as users run them (the built binary, stdin not a terminal): a
 * database with clear OAuth tokens and a clear reset identifier is reported,
 * sealed in place, then rotated onto a new key, and stays readable.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import { HASHED_PREFIX, SEALED_PREFIX } from "@authpg/core";
import { createDriver, fromPool } from "@authpg/pool";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, type Run, runCli } from "./run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCHEMA = "cli_seal";
const PASSWORD = "cli seal password";

const authpg = (cwd: string, env: Record<string, string>, ...args: string[]) => runCli(cwd, args, env);
const withPassword = { AUTHPG_KEYSTORE_PASSWORD: PASSWORD };

let db: TestDatabase;
let project: string;
let driver: ReturnType<typeof createDriver>;
const tokens = Array.from({ length: 5 }, (_, i) => `clear-access-token-${i}-${Math.random().toString(36).slice(2)}`);
const resetIdentifier = `reset-password:clear-reset-token-${Math.random().toString(36).slice(2)}`;

const noSecretsIn = (run: Run) => {
	for (const secret of [PASSWORD, ...tokens, resetIdentifier]) {
		expect(run.stdout).not.toContain(secret);
		expect(run.stderr).not.toContain(secret);
	}
};

const stored = async () =>
	(
		await driver.query<{ id: string; v: string }>(
			`select id, "accessToken" as v from ${SCHEMA}.account order by id`,
			[],
		)
	).rows;

/** Read the accounts the way the application does: through the adapter of stores with `seal`. */
async function readAccounts(): Promise<string[]> {
	const pool = new pg.Pool({ connectionString: db.url, max: 1 });
	const stores = fromPool(pool, { schema: SCHEMA, keystorePassword: PASSWORD, seal: true });
	try {
		const rows = await stores.adapter({}).findMany<{ accessToken: string }>({
			model: "account",
			sortBy: { field: "id", direction: "asc" },
			// Better Auth's findMany takes 100 rows unless told otherwise.
			limit: 10_000,
		});
		return rows.map((r) => r.accessToken);
	} finally {
		await stores.close();
		await pool.end();
	}
}

beforeAll(async () => {
	db = await startTestDatabase({ prefix: "cli_seal" });
	driver = createDriver(db.url);
	project = join(here, `.tmp-seal-${process.pid}-${Date.now().toString(36)}`);
	mkdirSync(project, { recursive: true });
	writeFileSync(join(project, ".env"), `AUTHPG_CLI_TEST_URL=${db.url}\n`);
	writeFileSync(
		join(project, "auth.ts"),
		`import { betterAuth } from "better-auth";
import { createStores } from "@authpg/pool";

const stores = createStores({
	connectionString: process.env.AUTHPG_CLI_TEST_URL,
	schema: "${SCHEMA}",
	keystorePassword: process.env.AUTHPG_KEYSTORE_PASSWORD,
	seal: true,
});
export const auth = betterAuth(stores.applyTo({ emailAndPassword: { enabled: true } }));
`,
	);
	const migrated = await authpg(project, withPassword, "migrate", "--yes");
	expect(migrated.code).toBe(0);
	// Rows from before sealing was turned on.
	await driver.query(
		`insert into ${SCHEMA}."user" (id, name, email, "emailVerified", "createdAt", "updatedAt") values ('u1', 'U', 'u@example.com', true, now(), now())`,
		[],
	);
	for (const [i, token] of tokens.entries()) {
		await driver.query(
			`insert into ${SCHEMA}.account (id, "userId", "providerId", "accountId", "accessToken", "createdAt", "updatedAt") values ($1, 'u1', $2, $2, $3, now(), now())`,
			[`acc-${i}`, `p${i}`, token],
		);
	}
	await driver.query(
		`insert into ${SCHEMA}.verification (id, identifier, value, "expiresAt", "createdAt", "updatedAt") values ('v1', $1, 'u1', now() + interval '1 hour', now(), now())`,
		[resetIdentifier],
	);
});

afterAll(async () => {
	if (project) rmSync(project, { recursive: true, force: true });
	await driver?.close();
	await db?.close();
});

describe("sealed fields from the CLI", () => {
	it("doctor reports the clear values of sealed and hashed fields (counts, never the values)", async () => {
		const run = await authpg(project, withPassword, "doctor");
		expect(run.code).toBe(1);
		expect(run.stdout).toContain("5 values of account.accessToken are in the clear, though the config seals it.");
		expect(run.stdout).toContain("1 value of verification.value is in the clear");
		expect(run.stdout).toContain("1 value of verification.identifier is in the clear, though the config hashes it.");
		expect(run.stdout).toContain("authpg keystore seal");
		noSecretsIn(run);
	});

	it("keystore seal without the password and without a terminal exits 2; nothing changes", async () => {
		const run = await authpg(project, {}, "keystore", "seal", "--yes");
		expect(run.code).toBe(2);
		expect((await stored()).map((r) => r.v)).toEqual(tokens);
	});

	it("keystore seal seals them in place, in batches with progress; the application reads them unchanged", async () => {
		const run = await authpg(project, withPassword, "keystore", "seal", "--yes", "--batch-size", "2");
		expect(run.stderr).not.toMatch(/authpg:/);
		expect(run.code).toBe(0);
		expect(run.stderr).toContain("account.accessToken: 2/5");
		expect(run.stderr).toContain("account.accessToken: 5/5");
		expect(run.stdout).toContain("account.accessToken: 0 re-sealed, 5 sealed or hashed from clear");
		noSecretsIn(run);
		for (const row of await stored()) expect(row.v.startsWith(SEALED_PREFIX)).toBe(true);
		const { rows } = await driver.query<{ identifier: string }>(`select identifier from ${SCHEMA}.verification`, []);
		expect(rows[0]!.identifier.startsWith(HASHED_PREFIX)).toBe(true);
		expect(await readAccounts()).toEqual(tokens);
		const doctor = await authpg(project, withPassword, "doctor");
		expect(doctor.stdout).not.toContain("in the clear");
	});

	it("keystore rotate adds a data key and re-seals every value onto it; values stay readable", async () => {
		const keyOf = (v: string) => v.split(":")[2];
		const before = new Set((await stored()).map((r) => keyOf(r.v)));
		expect(before.size).toBe(1);
		const run = await authpg(project, withPassword, "keystore", "rotate", "--yes", "--batch-size", "2");
		expect(run.stderr).not.toMatch(/authpg:/);
		expect(run.code).toBe(0);
		expect(run.stdout).toMatch(/New data key \S+; servers pick it up within 30 s/);
		expect(run.stdout).toContain("account.accessToken: 5 re-sealed, 0 sealed or hashed from clear");
		noSecretsIn(run);
		const after = new Set((await stored()).map((r) => keyOf(r.v)));
		expect(after.size).toBe(1);
		expect([...after][0]).not.toBe([...before][0]);
		expect(await readAccounts()).toEqual(tokens);
		const resumed = await authpg(project, withPassword, "keystore", "rotate", "--resume", "--yes");
		expect(resumed.code).toBe(0);
		expect(resumed.stdout).not.toContain("New data key");
		expect(resumed.stdout).toContain("account.accessToken: 0 re-sealed, 0 sealed or hashed from clear");
	});

	it("keystore rotate SIGKILLed midway: rows on the old and the new key all read; rotate --resume ends on the new key", async () => {
		// Enough rows that the kill lands while account.accessToken is being re-sealed, batch by batch.
		const many = Array.from({ length: 1500 }, (_, i) => `kill-test-token-${i}-${Math.random().toString(36).slice(2)}`);
		await driver.query(
			`insert into ${SCHEMA}.account (id, "userId", "providerId", "accountId", "accessToken", "createdAt", "updatedAt")
			 select 'kill-' || lpad(n::text, 5, '0'), 'u1', 'kill', n::text, t, now(), now() from unnest($1::text[]) with ordinality as x(t, n)`,
			[many],
		);
		const sealed = await authpg(project, withPassword, "keystore", "seal", "--yes");
		expect(sealed.code).toBe(0);
		const all = await readAccounts();
		expect(all).toHaveLength(tokens.length + many.length);
		const keyOf = (v: string) => v.split(":")[2];
		const [oldKey] = new Set((await stored()).map((r) => keyOf(r.v)));

		const child = spawn(process.execPath, [BIN, "keystore", "rotate", "--yes", "--batch-size", "10"], {
			cwd: project,
			env: { ...process.env, ...withPassword, NO_COLOR: "1" },
			stdio: ["ignore", "pipe", "pipe"],
		});
		let stderr = "";
		const exited = new Promise<NodeJS.Signals | null>((resolve) =>
			child.on("exit", (_code, signal) => resolve(signal)),
		);
		await new Promise<void>((resolve, reject) => {
			child.stderr.on("data", (chunk) => {
				stderr += chunk;
				// A few batches in: kill it as a deploy or an OOM would, with no chance to clean up.
				if (/account\.accessToken: 50\//.test(stderr)) {
					child.kill("SIGKILL");
					resolve();
				}
			});
			child.on("exit", () => reject(new Error(`rotate ended before it was killed:\n${stderr}`)));
		});
		expect(await exited).toBe("SIGKILL");

		const midway = (await stored()).map((r) => keyOf(r.v));
		const newKeys = new Set(midway.filter((k) => k !== oldKey));
		expect(newKeys.size).toBe(1);
		const onNew = midway.filter((k) => k !== oldKey).length;
		expect(onNew).toBeGreaterThanOrEqual(50);
		expect(onNew).toBeLessThan(midway.length);
		// Old and new keys open alike meanwhile: nothing is lost to the kill.
		expect(await readAccounts()).toEqual(all);

		const resumed = await authpg(
			project,
			withPassword,
			"keystore",
			"rotate",
			"--resume",
			"--yes",
			"--batch-size",
			"100",
		);
		expect(resumed.stderr).not.toMatch(/authpg:/);
		expect(resumed.code).toBe(0);
		expect(resumed.stdout).not.toContain("New data key");
		expect(resumed.stdout).toContain(
			`account.accessToken: ${midway.length - onNew} re-sealed, 0 sealed or hashed from clear`,
		);
		expect(new Set((await stored()).map((r) => keyOf(r.v)))).toEqual(newKeys);
		expect(await readAccounts()).toEqual(all);
		noSecretsIn(resumed);
	});
});
