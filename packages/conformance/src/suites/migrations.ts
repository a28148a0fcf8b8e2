import {
	applyMigrations,
	type Driver,
	introspect,
	type LiveSchema,
	MigrationError,
	planMigrations,
	postgresAdapter,
	UnsafeMigrationError,
} from "@authpg/core";
import type { BetterAuthOptions } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { organization } from "better-auth/plugins";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { freshAdapter, pluginWith, user } from "./fixture.js";
import type { SuiteContext } from "./index.js";

const NS = "authpg_migrate";

const arraysPlugin = pluginWith("bag", {
	tags: { type: "string[]", required: false },
	scores: { type: "number[]", required: false },
	ownerId: { type: "string", references: { model: "user", field: "id" }, required: false, index: true },
	code: { type: "string", unique: true, required: true },
});

/** Option sets compared with Better Auth's own migrator. */
const paritySets: Record<string, BetterAuthOptions> = {
	default: {},
	serial: { advanced: { database: { generateId: "serial" } } },
	uuid: { advanced: { database: { generateId: "uuid" } } },
	"plugin with references, unique, index and arrays": arraysPlugin,
	"organization plugin, renamed fields and additional fields": {
		plugins: [organization()],
		user: { fields: { email: "email_address" }, additionalFields: { age: { type: "number", required: false } } },
		session: { modelName: "sessions" },
	},
};

/** Better Auth's own migrator on `namespace` (it follows the connection's search_path). */
async function betterAuthMigrate(url: string, namespace: string, options: BetterAuthOptions) {
	const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${namespace}`, max: 2 });
	try {
		const { runMigrations } = await getMigrations({ ...options, database: pool });
		await runMigrations();
	} finally {
		await pool.end();
	}
}

/** The shape of a schema, names aside: what parity compares. */
function shape(live: LiveSchema, arraysAsJsonb: boolean) {
	const tables: Record<string, unknown> = {};
	for (const [name, table] of live.tables) {
		const columns: Record<string, string> = {};
		for (const [column, c] of table.columns) {
			const type = arraysAsJsonb && (c.type === "text[]" || c.type === "bigint[]") ? "jsonb" : c.type;
			columns[column] = `${type}${c.nullable ? "" : " not null"}`;
		}
		const indexes = [...live.indexes.values()]
			.filter((i) => i.table === name && !i.primary)
			.map((i) => `${i.unique ? "unique " : ""}(${i.columns.join(",")})`)
			.sort();
		const foreignKeys = live.foreignKeys
			.filter((f) => f.table === name)
			.map((f) => `(${f.columns.join(",")}) -> ${f.refTable}(${f.refColumns.join(",")}) on delete ${f.onDelete}`)
			.sort();
		tables[name] = { columns, indexes, foreignKeys };
	}
	return tables;
}

async function reset(driver: Driver, ...namespaces: string[]) {
	for (const ns of namespaces) {
		await driver.query(`drop schema if exists ${ns} cascade`, []);
	}
}

/** The planner: fresh, idempotent, incremental, refusals, rollback, concurrency, adoption, parity. */
export function migrationsSuite({ driver, connect, url }: SuiteContext) {
	describe("migrations", () => {
		const others: Driver[] = [];
		afterAll(async () => {
			await Promise.all(others.map((d) => d.close()));
		});

		it("createSchema writes SQL that creates what migrate would, and nothing is left to plan", async () => {
			await reset(driver(), NS);
			const adapter = postgresAdapter(driver(), { schema: NS })(arraysPlugin);
			const created = await adapter.createSchema!(arraysPlugin, "schema.sql");
			expect(created.path).toBe("schema.sql");
			expect(created.code).toContain(`create schema if not exists "${NS}"`);
			expect(created.code).toContain('"tags" text[]');
			for (const statement of created.code.split(/;\n/).filter((s) => s.trim())) await driver().query(statement, []);
			const plan = await planMigrations(driver(), arraysPlugin, { schema: NS });
			expect(plan.steps).toEqual([]);
			expect(plan.blockers).toEqual([]);
		});

		it("a second plan right after applying is empty", async () => {
			await freshAdapter(driver(), NS, arraysPlugin);
			const plan = await planMigrations(driver(), arraysPlugin, { schema: NS });
			expect(plan.steps).toEqual([]);
			expect(plan.warnings).toEqual([]);
		});

		it("enabling a plugin adds only its tables, columns and indexes; rows stay", async () => {
			const adapter = await freshAdapter(driver(), NS);
			await adapter.create({ model: "user", data: user({ name: "kept" }) });
			const withPlugin: BetterAuthOptions = {
				user: { additionalFields: { plan: { type: "string", required: true, defaultValue: "free" } } },
				...pluginWith("note", { body: { type: "string", required: true, index: true } }),
			};
			const plan = await applyMigrations(driver(), withPlugin, { schema: NS });
			expect(plan.steps.map((s) => `${s.kind} ${s.target} ${s.safety}`).sort()).toEqual(
				["addColumn user.plan safe", "createIndex note_body_idx safe", "createTable note safe"].sort(),
			);
			const after = postgresAdapter(driver(), { schema: NS })(withPlugin);
			const kept = await after.findOne<{ plan: string }>({ model: "user", where: [{ field: "name", value: "kept" }] });
			expect(kept?.plan).toBe("free");
			expect((await planMigrations(driver(), withPlugin, { schema: NS })).steps).toEqual([]);
		});

		it("refuses a required column without default on a table with rows, and says what to do", async () => {
			const adapter = await freshAdapter(driver(), NS);
			await adapter.create({ model: "user", data: user() });
			const options: BetterAuthOptions = { user: { additionalFields: { tier: { type: "string", required: true } } } };
			const plan = await planMigrations(driver(), options, { schema: NS });
			expect(plan.blockers).toEqual([
				expect.objectContaining({ kind: "requiredColumnOnPopulatedTable", target: "user.tier" }),
			]);
			expect(plan.blockers[0]!.message).toMatch(/nullable, backfill/);
			await expect(applyMigrations(driver(), options, { schema: NS })).rejects.toBeInstanceOf(UnsafeMigrationError);
			await adapter.deleteMany({ model: "user", where: [] });
			expect((await planMigrations(driver(), options, { schema: NS })).blockers).toEqual([]);
		});

		it("refuses a column whose type differs, naming expected and found", async () => {
			await freshAdapter(driver(), NS);
			await driver().query(`alter table ${NS}."user" alter column "emailVerified" type text`, []);
			const plan = await planMigrations(driver(), {}, { schema: NS });
			expect(plan.blockers).toHaveLength(1);
			expect(plan.blockers[0]).toMatchObject({ kind: "typeMismatch", target: "user.emailVerified" });
			expect(plan.blockers[0]!.message).toMatch(/is text, but Better Auth expects boolean/);
		});

		it("refuses an index with Better Auth's name but other columns or uniqueness", async () => {
			await freshAdapter(driver(), NS);
			await driver().query(`drop index ${NS}."session_userId_idx"`, []);
			await driver().query(`create unique index "session_userId_idx" on ${NS}."session" ("token", "userId")`, []);
			const plan = await planMigrations(driver(), {}, { schema: NS });
			expect(plan.blockers).toEqual([expect.objectContaining({ kind: "indexMismatch", target: "session_userId_idx" })]);
		});

		it("reports extra tables and columns and never drops them", async () => {
			await freshAdapter(driver(), NS);
			await driver().query(`create table ${NS}.app_data (id int)`, []);
			await driver().query(`alter table ${NS}."user" add column nickname text`, []);
			const plan = await applyMigrations(driver(), {}, { schema: NS });
			expect(plan.steps).toEqual([]);
			expect(plan.warnings.join("\n")).toMatch(
				/app_data.*left alone[\s\S]*user\.nickname.*left alone|user\.nickname[\s\S]*app_data/,
			);
			const live = await introspect(driver(), NS);
			expect(live.tables.has("app_data")).toBe(true);
		});

		it("a failing step rolls everything back and names the step and its SQL", async () => {
			await reset(driver(), NS);
			await driver().query(`create schema ${NS}`, []);
			// A session table without its foreign key, holding an orphan row: adding the key must fail.
			await driver().query(
				`create table ${NS}."session" ("id" text primary key, "expiresAt" timestamptz not null, "token" text not null unique,
				  "createdAt" timestamptz not null, "updatedAt" timestamptz not null, "ipAddress" text, "userAgent" text, "userId" text not null)`,
				[],
			);
			await driver().query(
				`insert into ${NS}."session" values ('s', now(), 't', now(), now(), null, null, 'no-such-user')`,
				[],
			);
			const failure = applyMigrations(driver(), {}, { schema: NS });
			await expect(failure).rejects.toBeInstanceOf(MigrationError);
			await expect(failure).rejects.toThrow(/addForeignKey session\.userId[\s\S]*SQL: alter table/);
			const live = await introspect(driver(), NS);
			expect([...live.tables.keys()]).toEqual(["session"]);
		});

		it("two concurrent migrators: one applies, the other finds nothing; neither errors", async () => {
			await reset(driver(), NS);
			const second = await connect();
			others.push(second);
			const [a, b] = await Promise.all([
				applyMigrations(driver(), arraysPlugin, { schema: NS }),
				applyMigrations(second, arraysPlugin, { schema: NS }),
			]);
			const counts = [a.steps.length, b.steps.length].sort((x, y) => x - y);
			expect(counts[0]).toBe(0);
			expect(counts[1]).toBeGreaterThan(5);
		});

		it("lock_timeout stops a migration queued behind live traffic, with nothing applied", async () => {
			await freshAdapter(driver(), NS);
			const holder = await connect();
			others.push(holder);
			let release!: () => void;
			const released = new Promise<void>((resolve) => {
				release = resolve;
			});
			let locked!: () => void;
			const isLocked = new Promise<void>((resolve) => {
				locked = resolve;
			});
			const holding = holder.transaction(async (tx) => {
				await tx.query(`lock table ${NS}."user" in access exclusive mode`, []);
				locked();
				await released;
			});
			await isLocked;
			const options: BetterAuthOptions = { user: { additionalFields: { nick: { type: "string", required: false } } } };
			try {
				await expect(applyMigrations(driver(), options, { schema: NS, lockTimeoutMs: 200 })).rejects.toThrow(
					/lock timeout/,
				);
			} finally {
				release();
				await holding;
			}
			expect((await introspect(driver(), NS)).tables.get("user")?.columns.has("nick")).toBe(false);
		});

		it("--concurrently builds indexes on existing tables outside the transaction and rebuilds an invalid leftover", async () => {
			await freshAdapter(driver(), NS);
			const options = pluginWith("note", {});
			await applyMigrations(driver(), options, { schema: NS });
			await driver().query(`drop index ${NS}."session_userId_idx"`, []);
			await driver().query(`create index "session_userId_idx" on ${NS}."session" ("userId")`, []);
			// What a failed CREATE INDEX CONCURRENTLY leaves behind.
			await driver().query(
				`update pg_index set indisvalid = false where indexrelid = '${NS}."session_userId_idx"'::regclass`,
				[],
			);
			await driver().query(`drop index ${NS}."account_userId_idx"`, []);
			const plan = await applyMigrations(driver(), options, { schema: NS, concurrently: true });
			expect(plan.steps.map((s) => `${s.kind} ${s.target} ${s.concurrently === true}`)).toEqual([
				"dropInvalidIndex session_userId_idx true",
				"createIndex session_userId_idx true",
				"createIndex account_userId_idx true",
			]);
			expect(plan.steps.every((s) => /concurrently/.test(s.sql))).toBe(true);
			const live = await introspect(driver(), NS);
			expect(live.indexes.get("session_userId_idx")?.valid).toBe(true);
			expect(live.indexes.get("account_userId_idx")?.valid).toBe(true);
			expect((await planMigrations(driver(), options, { schema: NS, concurrently: true })).steps).toEqual([]);
		});

		it("plural and renamed tables and fields", async () => {
			const options: BetterAuthOptions = {
				user: { modelName: "member_account", fields: { email: "email_address", name: "display_name" } },
				session: { fields: { userId: "owner_id" } },
			};
			await reset(driver(), NS);
			await applyMigrations(driver(), options, { schema: NS, usePlural: true });
			const live = await introspect(driver(), NS);
			expect([...live.tables.keys()].sort()).toEqual(["accounts", "member_accounts", "sessions", "verifications"]);
			expect(live.tables.get("member_accounts")?.columns.has("email_address")).toBe(true);
			expect(live.foreignKeys.find((f) => f.table === "sessions")).toMatchObject({
				columns: ["owner_id"],
				refTable: "member_accounts",
			});
			const adapter = postgresAdapter(driver(), { schema: NS, usePlural: true })(options);
			const created = await adapter.create<{ id: string }>({ model: "user", data: user({ email: "p@example.com" }) });
			const found = await adapter.findOne<{ email: string }>({
				model: "member_accounts",
				where: [{ field: "email_address", value: "p@example.com" }],
			});
			expect(found?.email).toBe("p@example.com");
			expect(created.id).toBeTruthy();
			expect((await planMigrations(driver(), options, { schema: NS, usePlural: true })).steps).toEqual([]);
		});

		describe("parity with Better Auth's migrator", () => {
			for (const [label, options] of Object.entries(paritySets)) {
				it(label, async () => {
					const theirs = `${NS}_ba`;
					await reset(driver(), NS, theirs);
					await driver().query(`create schema ${theirs}`, []);
					await betterAuthMigrate(url, theirs, options);
					await applyMigrations(driver(), options, { schema: NS });
					expect(shape(await introspect(driver(), NS), true)).toEqual(shape(await introspect(driver(), theirs), false));
					// Adopting theirs: nothing to change, nothing refused.
					const adopt = await planMigrations(driver(), options, { schema: theirs });
					expect(adopt.blockers).toEqual([]);
					expect(adopt.steps).toEqual([]);
				});
			}
		});

		it("adopts a Better-Auth-migrated database: works unchanged, then converts jsonb arrays keeping every value", async () => {
			const theirs = `${NS}_ba`;
			await reset(driver(), theirs);
			await driver().query(`create schema ${theirs}`, []);
			await betterAuthMigrate(url, theirs, arraysPlugin);
			const adapter = postgresAdapter(driver(), { schema: theirs })(arraysPlugin);
			const owner = await adapter.create<{ id: string }>({ model: "user", data: user() });
			const tags = ["a,b", 'q"uote', "", "NULL", "😀"];
			const bag = await adapter.create<{ id: string; tags: string[]; scores: number[] }>({
				model: "bag",
				data: { tags, scores: [1, 2 ** 40], ownerId: owner.id, code: "c1" } as never,
			});
			expect(bag.tags).toEqual(tags);
			expect(bag.scores).toEqual([1, 2 ** 40]);
			const plan = await planMigrations(driver(), arraysPlugin, { schema: theirs });
			expect(plan.steps).toEqual([]);
			expect(plan.warnings.join("\n")).toMatch(/bag\.tags.*jsonb array.*--convert-arrays/);
			const converted = await applyMigrations(driver(), arraysPlugin, { schema: theirs, convertArrays: true });
			expect(
				converted.steps
					.filter((s) => s.kind === "convertArrayColumn")
					.map((s) => s.target)
					.sort(),
			).toEqual(["bag.scores", "bag.tags"]);
			const live = await introspect(driver(), theirs);
			expect(live.tables.get("bag")?.columns.get("tags")?.type).toBe("text[]");
			const fresh = postgresAdapter(driver(), { schema: theirs })(arraysPlugin);
			const after = await fresh.findOne<{ tags: string[]; scores: number[] }>({
				model: "bag",
				where: [{ field: "id", value: bag.id }],
			});
			expect(after?.tags).toEqual(tags);
			expect(after?.scores).toEqual([1, 2 ** 40]);
			await reset(driver(), theirs);
		});
	});
}
