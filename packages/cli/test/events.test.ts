/**
 * `authpg events` as users run it (the built binary in a temporary project)
 * against a real database with events written by Better Auth flows.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import type { AuthEvent, Stores } from "@authpg/core";
import { createStores } from "@authpg/pool";
import { betterAuth } from "better-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, runCli } from "./run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCHEMA = "events_app";
const options = {
	emailAndPassword: { enabled: true },
	secret: "events-test-secret-0123456789abcdef",
	baseURL: "http://localhost:3000",
};

let db: TestDatabase;
let stores: Stores;
let project: string;
const authOn = (s: Stores) => betterAuth(s.applyTo(options));
let auth: ReturnType<typeof authOn>;
let userId: string;

const authpg = (...args: string[]) => runCli(project, args);

beforeAll(async () => {
	db = await startTestDatabase({ prefix: "events_cli" });
	stores = createStores({ connectionString: db.url, schema: SCHEMA, events: true });
	await stores.migrate(options);
	auth = authOn(stores);
	const signedUp = await auth.api.signUpEmail({
		body: { email: "ann@example.com", password: "correct horse battery", name: "Ann" },
	});
	userId = signedUp.user.id;
	await auth.api.signInEmail({ body: { email: "ann@example.com", password: "wrong password!" } }).catch(() => {});
	await auth.api.signUpEmail({ body: { email: "bob@example.com", password: "correct horse battery", name: "Bob" } });
	project = join(here, `.tmp-events-${process.pid}-${Date.now().toString(36)}`);
	mkdirSync(project, { recursive: true });
	writeFileSync(
		join(project, "auth.ts"),
		`import { betterAuth } from "better-auth";
import { createStores } from "@authpg/pool";
export const stores = createStores({ connectionString: ${JSON.stringify(db.url)}, schema: "${SCHEMA}", events: true });
export const auth = betterAuth(stores.applyTo(${JSON.stringify(options)}));
`,
	);
}, 120_000);

afterAll(async () => {
	if (project) rmSync(project, { recursive: true, force: true });
	await stores?.close();
	await db?.close();
});

describe("authpg events", () => {
	it("--json lists events newest first; --user, --type and --since filter", async () => {
		const all = await authpg("events", "--json");
		expect(all.stderr).toBe("");
		expect(all.code).toBe(0);
		const listed = JSON.parse(all.stdout) as AuthEvent[];
		expect(listed.map((e) => e.type)).toEqual([
			"session.created",
			"user.created",
			"sign_in.failed",
			"session.created",
			"user.created",
		]);
		const mine = JSON.parse((await authpg("events", "--json", "--user", userId)).stdout) as AuthEvent[];
		expect(mine.map((e) => [e.type, e.details])).toEqual([
			["sign_in.failed", { method: "email", reason: "wrong_password" }],
			["session.created", { method: "email" }],
			["user.created", {}],
		]);
		const typed = JSON.parse((await authpg("events", "--json", "--type", "user.created,sign_in.failed")).stdout);
		expect(typed.map((e: AuthEvent) => e.type)).toEqual(["user.created", "sign_in.failed", "user.created"]);
		expect(JSON.parse((await authpg("events", "--json", "--since", "2999-01-01")).stdout)).toEqual([]);
		expect(JSON.parse((await authpg("events", "--json", "--since", "1h")).stdout)).toHaveLength(5);
	});

	it("prints one line per event; a bad flag is a usage error", async () => {
		const text = await authpg("events", "--limit", "2");
		expect(text.code).toBe(0);
		const lines = text.stdout.trim().split("\n");
		expect(lines).toHaveLength(2);
		expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}session\.created +success {2}user=\S+ {2}session=\S+/);
		const bad = await authpg("events", "--since", "yesterday-ish");
		expect(bad.code).toBe(2);
		expect(bad.stderr).toContain("--since");
	});

	it("doctor reports a missing upcoming month partition; prune creates it again", async () => {
		const ahead = (
			await stores.driver.query<{ name: string }>(
				`select to_char(date_trunc('month', now() at time zone 'UTC') + interval '2 months', '"authpg_event_p"YYYYMM') as "name"`,
				[],
			)
		).rows[0]!.name;
		await stores.driver.query(`drop table ${SCHEMA}.${ahead}`, []);
		const sick = await authpg("doctor", "--json");
		expect(sick.code).toBe(1);
		const findings = (JSON.parse(sick.stdout) as { findings: { check: string; what: string }[] }).findings;
		expect(findings.filter((f) => f.check === "eventPartitions").map((f) => f.what)).toEqual([
			`The event log has no partition ${ahead}.`,
		]);
		expect((await authpg("prune")).code).toBe(0);
		const healed = JSON.parse((await authpg("doctor", "--json")).stdout) as { findings: { check: string }[] };
		expect(healed.findings.filter((f) => f.check === "eventPartitions")).toEqual([]);
	}, 60_000);

	it("--follow prints what is there, then each new event once", async () => {
		const child = spawn(process.execPath, [BIN, "events", "--follow", "--json", "--interval", "100"], {
			cwd: project,
			env: { ...process.env, NO_COLOR: "1" },
		});
		let stdout = "";
		child.stdout.on("data", (chunk) => {
			stdout += chunk;
		});
		const lines = () => stdout.split("\n").filter(Boolean);
		try {
			await expect.poll(() => lines().length, { timeout: 20_000 }).toBe(5);
			await auth.api.signUpEmail({ body: { email: "cy@example.com", password: "correct horse battery", name: "Cy" } });
			await expect.poll(() => lines().length, { timeout: 20_000 }).toBe(7);
			const types = lines().map((l) => (JSON.parse(l) as AuthEvent).type);
			expect(types.slice(5)).toEqual(["user.created", "session.created"]);
			expect(new Set(lines().map((l) => (JSON.parse(l) as AuthEvent).id)).size).toBe(7);
		} finally {
			child.kill("SIGINT");
		}
	}, 60_000);
});
