/**
 * The CLI as users run it: the built binary (`node dist/cli.js`) in a
 * temporary project (inside this package, so `better-auth` and `@authpg/pool`
 * resolve from its node_modules) against a fresh database.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, runCli } from "./run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCHEMA = "cli_app";

const authpg = (cwd: string, ...args: string[]) => runCli(cwd, args);

function write(file: string, text: string) {
	mkdirSync(dirname(file), { recursive: true });
	writeFileSync(file, text);
}

const authFile = (plugins: string) => `import { betterAuth } from "better-auth";
import { twoFactor } from "better-auth/plugins";
import { stores } from "@/db";

export const auth = betterAuth(stores.applyTo({ emailAndPassword: { enabled: true }, plugins: [${plugins}] }));
`;

let db: TestDatabase;
let other: TestDatabase;
let project: string;
let client: pg.Client;

async function tables(schema: string): Promise<string[]> {
	const { rows } = await client.query<{ t: string }>(
		"select table_name as t from information_schema.tables where table_schema = $1 order by 1",
		[schema],
	);
	return rows.map((r) => r.t);
}

beforeAll(async () => {
	if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`pnpm build\` (the test script builds first).`);
	[db, other] = await Promise.all([
		startTestDatabase({ prefix: "cli" }),
		startTestDatabase({ prefix: "cli_generated" }),
	]);
	client = new pg.Client({ connectionString: db.url });
	await client.connect();
	project = join(here, `.tmp-${process.pid}-${Date.now().toString(36)}`);
	// A Next.js-like layout: src/lib/auth.ts (found without --config) importing
	// through a tsconfig path alias, its database URL in .env.
	write(join(project, ".env"), `AUTHPG_CLI_TEST_URL=${db.url}\n`);
	write(
		join(project, "tsconfig.json"),
		`{
	// comments and trailing commas, as tsconfig allows
	"compilerOptions": { "baseUrl": ".", "paths": { "@/*": ["./src/*"], }, },
}
`,
	);
	write(
		join(project, "src", "db.ts"),
		`import { createStores } from "@authpg/pool";
export const stores = createStores({ connectionString: process.env.AUTHPG_CLI_TEST_URL, schema: "${SCHEMA}" });
`,
	);
	write(join(project, "src", "lib", "auth.ts"), authFile(""));
});

afterAll(async () => {
	if (project) rmSync(project, { recursive: true, force: true });
	await client?.end();
	await Promise.all([db?.close(), other?.close()]);
});

describe("authpg on a project", () => {
	it("plan prints the steps, their SQL and a summary, applies nothing, exits 0", async () => {
		const run = await authpg(project, "plan");
		expect(run.stderr).not.toMatch(/authpg:/);
		expect(run.code).toBe(0);
		expect(run.stdout).toContain(`Plan for schema "${SCHEMA}" in database`);
		expect(run.stdout).toContain("(config: src/lib/auth.ts)");
		expect(run.stdout).toMatch(/createTable user {2}\[safe\]/);
		expect(run.stdout).toContain(`create table if not exists "${SCHEMA}"."user" (`);
		expect(run.stdout).toMatch(/^\d+ steps \(\d+ safe\), 0 blockers$/m);
		expect(await tables(SCHEMA)).toEqual([]);
	});

	it("migrate without --yes and without a terminal refuses and applies nothing", async () => {
		const run = await authpg(project, "migrate");
		expect(run.code).toBe(1);
		expect(run.stderr).toMatch(/Refused: .*stdin is not a terminal.*--yes/);
		expect(await tables(SCHEMA)).toEqual([]);
	});

	it("migrate --yes applies with progress per step, then status exits 0", async () => {
		const run = await authpg(project, "migrate", "--yes");
		expect(run.stderr).not.toMatch(/authpg:/);
		expect(run.code).toBe(0);
		const steps = Number(/^(\d+) steps/m.exec(run.stdout)?.[1]);
		expect(steps).toBeGreaterThan(4);
		expect(run.stdout).toMatch(new RegExp(`^\\[1/${steps}\\] createSchema ${SCHEMA} {2}\\[safe\\] {2}\\d+ ms$`, "m"));
		expect(run.stdout).toMatch(new RegExp(`^\\[${steps}/${steps}\\] `, "m"));
		expect(run.stdout).toContain(`Applied ${steps} steps in`);
		expect(await tables(SCHEMA)).toEqual(expect.arrayContaining(["account", "session", "user", "verification"]));

		const status = await authpg(project, "status");
		expect(status.code).toBe(0);
		expect(status.stdout).toContain("In sync");
		const version = JSON.parse(readFileSync(join(here, "..", "package.json"), "utf8")).version;
		expect(status.stdout).toMatch(
			new RegExp(
				`^Last migration: #\\d+ at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z by @authpg/cli ${version}: ${steps} steps in \\d+ ms \\(plan [0-9a-f]{12}\\)\\.$`,
				"m",
			),
		);
		const again = await authpg(project, "migrate");
		expect(again.code).toBe(0);
		expect(again.stdout).toContain("Nothing to do");
		const history = await client.query(`select "tool", "steps" from "${SCHEMA}"."authpg_migrations"`);
		expect(history.rows).toHaveLength(1);
		expect(history.rows[0].steps).toHaveLength(steps);
		expect(history.rows[0].steps[1]).toMatchObject({ kind: "createTable", target: "authpg_migrations" });
	});

	it("after a plugin is added, status exits 1 and names what is pending; migrate catches up", async () => {
		write(join(project, "src", "lib", "auth.ts"), authFile("twoFactor()"));
		const status = await authpg(project, "status", "--json");
		expect(status.code).toBe(1);
		const plan = JSON.parse(status.stdout);
		expect(plan.inSync).toBe(false);
		expect(plan.blockers).toEqual([]);
		expect(plan.steps.map((s: { kind: string; target: string }) => `${s.kind} ${s.target}`)).toEqual(
			expect.arrayContaining(["createTable twoFactor", "addColumn user.twoFactorEnabled"]),
		);
		expect(
			plan.steps.every((s: { kind: string; target: string }) => !/^(session|account|verification)$/.test(s.target)),
		).toBe(true);

		const text = await authpg(project, "status");
		expect(text.code).toBe(1);
		expect(text.stdout).toMatch(/createTable twoFactor/);
		expect(text.stdout).toContain("Out of sync");

		expect((await authpg(project, "migrate", "--yes")).code).toBe(0);
		expect((await authpg(project, "status")).code).toBe(0);
		expect(await tables(SCHEMA)).toContain("twoFactor");
		const json = JSON.parse((await authpg(project, "status", "--json")).stdout);
		expect(json.lastMigration.steps.map((s: { kind: string; target: string }) => `${s.kind} ${s.target}`)).toEqual(
			plan.steps.map((s: { kind: string; target: string }) => `${s.kind} ${s.target}`),
		);
		expect(json.lastMigration.planHash).toMatch(/^[0-9a-f]{64}$/);
	});

	it("status passes with warnings (an extra table), and fails on them with --strict", async () => {
		await client.query(`create table "${SCHEMA}"."app_own" ("id" integer)`);
		const lenient = await authpg(project, "status");
		expect(lenient.code).toBe(0);
		expect(lenient.stdout).toContain('Table "app_own" is not part of the Better Auth schema');
		expect(lenient.stdout).toMatch(/0 steps, 0 blockers, 1 warning$/m);
		const strict = await authpg(project, "status", "--strict");
		expect(strict.code).toBe(1);
		expect(strict.stdout).toContain("Out of sync (--strict)");
	});

	it("generate --output writes SQL that, run by another tool, leaves a database in sync", async () => {
		const run = await authpg(project, "generate", "--output", "migrations/auth.sql");
		expect(run.code).toBe(0);
		const sql = readFileSync(join(project, "migrations", "auth.sql"), "utf8");
		expect(sql).toContain(`create table if not exists "${SCHEMA}"."twoFactor"`);
		expect(sql).toContain(`"twoFactorEnabled" boolean`);

		const fresh = new pg.Client({ connectionString: other.url });
		await fresh.connect();
		try {
			await fresh.query(sql);
		} finally {
			await fresh.end();
		}
		const status = await authpg(project, "status", "--url", other.url);
		expect(status.stdout).toContain("0 steps, 0 blockers");
		expect(status.code).toBe(0);
	});

	it("generate prints to stdout, and refuses to overwrite a file without --yes", async () => {
		const printed = await authpg(project, "generate");
		expect(printed.code).toBe(0);
		expect(printed.stdout).toMatch(/^-- Better Auth schema for authpg/);
		expect(printed.stdout).not.toContain("Better Auth]:"); // the config's log lines go to stderr

		writeFileSync(join(project, "migrations", "auth.sql"), "-- mine\n");
		const refused = await authpg(project, "generate", "-o", "migrations/auth.sql");
		expect(refused.code).toBe(1);
		expect(refused.stderr).toContain("--yes");
		expect(readFileSync(join(project, "migrations", "auth.sql"), "utf8")).toBe("-- mine\n");
		expect((await authpg(project, "generate", "-o", "migrations/auth.sql", "--yes")).code).toBe(0);
		expect(readFileSync(join(project, "migrations", "auth.sql"), "utf8")).toBe(printed.stdout);
	});

	it("reports blockers: plan exits 0 and lists them, status exits 1, migrate refuses (--schema override)", async () => {
		await client.query(`create schema blocked; create table blocked."user" ("id" text primary key, "name" integer)`);
		const plan = await authpg(project, "plan", "--schema", "blocked");
		expect(plan.code).toBe(0);
		expect(plan.stdout).toContain('Plan for schema "blocked"');
		expect(plan.stdout).toMatch(/typeMismatch user\.name: .*integer.*text/);
		expect(plan.stdout).toMatch(/, 1 blocker/);

		expect((await authpg(project, "status", "--schema", "blocked")).code).toBe(1);
		const migrate = await authpg(project, "migrate", "--yes", "--schema", "blocked");
		expect(migrate.code).toBe(1);
		expect(migrate.stderr).toContain("Refused");
		expect(await tables("blocked")).toEqual(["user"]);
	});

	it("--unique-insensitive-email is refused while emails differ only in case; --case-insensitive-indexes applies", async () => {
		await client.query(
			`insert into "${SCHEMA}"."user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt")
			 values ('d1', 'd', 'Dup@example.com', false, now(), now()), ('d2', 'd', 'dup@example.com', false, now(), now())`,
		);
		const refused = await authpg(project, "migrate", "--yes", "--unique-insensitive-email");
		expect(refused.code).toBe(1);
		expect(refused.stdout).toContain("Dup@example.com = dup@example.com");
		expect(refused.stderr).toContain("Refused");
		const plain = await authpg(project, "migrate", "--yes", "--case-insensitive-indexes");
		expect(plain.stderr).not.toMatch(/authpg:/);
		expect(plain.code).toBe(0);
		expect(plain.stdout).toMatch(/createIndex user_email_lower_idx/);
		expect((await authpg(project, "status", "--case-insensitive-indexes")).code).toBe(0);
		await client.query(`delete from "${SCHEMA}"."user" where "id" = 'd2'`);
		expect((await authpg(project, "migrate", "--yes", "--unique-insensitive-email")).code).toBe(0);
		await expect(
			client.query(
				`insert into "${SCHEMA}"."user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt")
				 values ('d3', 'd', 'DUP@example.com', false, now(), now())`,
			),
		).rejects.toThrow(/user_email_lower_uidx/);
	});
});

describe("authpg errors", () => {
	it("a --config that does not exist exits 2 and names the file", async () => {
		const run = await authpg(project, "plan", "--config", "nowhere/auth.ts");
		expect(run.code).toBe(2);
		expect(run.stderr).toContain(join(project, "nowhere", "auth.ts"));
		expect(run.stderr).toContain("does not exist");
	});

	it("a directory without a config exits 2 and says where it looked", async () => {
		const empty = join(project, "empty");
		mkdirSync(empty, { recursive: true });
		const run = await authpg(empty, "status");
		expect(run.code).toBe(2);
		expect(run.stderr).toContain("No auth config found");
		expect(run.stderr).toContain("--config");
	});

	it("a config whose import fails exits 2 and names the file and the import", async () => {
		write(join(project, "other", "broken.ts"), 'import { db } from "@/lib/missing-db";\nexport const auth = db;\n');
		const run = await authpg(project, "plan", "--config", "other/broken.ts");
		expect(run.code).toBe(2);
		expect(run.stderr).toContain("Could not load other/broken.ts");
		expect(run.stderr).toMatch(/lib\/missing-db/);
	});

	it("a config without an auth export exits 2 and names the file and its exports", async () => {
		write(join(project, "other", "auth.ts"), "export const notAuth = 1;\n");
		const run = await authpg(project, "plan", "--config", "other/auth.ts");
		expect(run.code).toBe(2);
		expect(run.stderr).toContain("other/auth.ts: no Better Auth instance exported");
		expect(run.stderr).toContain("notAuth");

		write(join(project, "other", "wrong.ts"), "export const auth = { handler: () => null };\n");
		const wrong = await authpg(project, "plan", "--config", "other/wrong.ts");
		expect(wrong.code).toBe(2);
		expect(wrong.stderr).toContain("other/wrong.ts: the `auth` export is not a Better Auth instance");
	});

	it("a config on another adapter exits 2 asking for --url; with --url it plans", async () => {
		write(
			join(project, "kysely", "auth.ts"),
			`import { betterAuth } from "better-auth";
import pg from "pg";
export const auth = betterAuth({ database: new pg.Pool({ connectionString: process.env.AUTHPG_CLI_TEST_URL }) });
`,
		);
		const refused = await authpg(project, "plan", "--config", "kysely/auth.ts");
		expect(refused.code).toBe(2);
		expect(refused.stderr).toContain("kysely/auth.ts");
		expect(refused.stderr).toContain("--url");

		const planned = await authpg(project, "plan", "--config", "kysely/auth.ts", "--url", db.url, "--schema", "via_url");
		expect(planned.code).toBe(0);
		expect(planned.stdout).toContain('create table if not exists "via_url"."user"');
		// generate needs no database, whatever the adapter
		expect((await authpg(project, "generate", "--config", "kysely/auth.ts")).stdout).toContain('"public"."user"');
	});

	it("--help and --version exit 0", async () => {
		const [help, migrateHelp, version] = await Promise.all([
			authpg(project, "--help"),
			authpg(project, "migrate", "--help"),
			authpg(project, "--version"),
		]);
		expect(help.code).toBe(0);
		expect(help.stdout).toContain("Usage: authpg <command>");
		expect(migrateHelp.code).toBe(0);
		expect(migrateHelp.stdout).toContain("-y, --yes");
		expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(here, "..", "package.json"), "utf8")).version);
	});

	it("bad flags exit 2; an unreachable database exits 3", async () => {
		const [flag, command, down] = await Promise.all([
			authpg(project, "status", "--yes"),
			authpg(project, "deploy"),
			authpg(project, "status", "--url", "postgres://nobody@127.0.0.1:1/none"),
		]);
		expect(flag.code).toBe(2);
		expect(flag.stderr).toContain("--yes");
		expect(command.code).toBe(2);
		expect(command.stderr).toContain('Unknown command "deploy"');
		expect(down.code).toBe(3);
		expect(down.stderr).toContain("Could not reach the database");
	});
});
