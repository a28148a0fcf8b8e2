import {
	applyMigrations,
	type Driver,
	HISTORY_TABLE,
	introspect,
	kyselyDialect,
	type LiveSchema,
	lastMigration,
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
import { countingDriver } from "../counting-driver.js";
import { itWhen } from "../report.js";
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
async function betterAuthMigrate({ url, driver }: SuiteContext, namespace: string, options: BetterAuthOptions) {
	if (url === undefined) {
		// A single session has no URL to open a pool on: Better Auth migrates through the session itself, via our Kysely dialect.
		await driver().query(`set search_path to ${namespace}`, []);
		try {
			const dialect = kyselyDialect(driver());
			const { runMigrations } = await getMigrations({ ...options, database: { dialect, type: "postgres" } });
			await runMigrations();
		} finally {
			await driver().query("reset search_path", []);
		}
		return;
	}
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
		// Our migration history: Better Auth's migrator keeps none.
		if (name === HISTORY_TABLE) continue;
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
export function migrationsSuite(context: SuiteContext) {
	const { driver, connect } = context;
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
			expect(await lastMigration(driver(), NS)).toBeUndefined();
		});

		it("history: each applied plan writes one row (steps, hash, tool, duration) in its transaction; empty and failed plans none", async () => {
			await reset(driver(), NS);
			const first = await applyMigrations(driver(), {}, { schema: NS, tool: "conformance 1.0" });
			expect(first.steps[0]).toMatchObject({ kind: "createSchema" });
			expect(first.steps[1]).toMatchObject({ kind: "createTable", target: HISTORY_TABLE });
			const row = await lastMigration(driver(), NS);
			expect(row).toMatchObject({ tool: "conformance 1.0" });
			expect(row!.steps).toEqual(first.steps.map((s) => ({ kind: s.kind, target: s.target, sql: s.sql })));
			expect(row!.planHash).toMatch(/^[0-9a-f]{64}$/);
			expect(row!.durationMs).toBeGreaterThanOrEqual(0);
			expect(Math.abs(row!.appliedAt.getTime() - Date.now())).toBeLessThan(60_000);
			const count = async () =>
				Number(
					(await driver().query<{ n: number }>(`select count(*)::int as n from ${NS}.${HISTORY_TABLE}`, [])).rows[0]!.n,
				);
			expect(await count()).toBe(1);
			// In sync: no row.
			expect((await applyMigrations(driver(), {}, { schema: NS })).steps).toEqual([]);
			expect(await count()).toBe(1);
			// A failing plan: its steps roll back, and so does its row.
			await driver().query(`alter table ${NS}."session" drop constraint "session_userId_fkey"`, []);
			await driver().query(
				`insert into ${NS}."session" values ('s', now(), 't', now(), now(), null, null, 'no-such-user')`,
				[],
			);
			const withNote = pluginWith("note", { body: { type: "string", required: false } });
			await expect(applyMigrations(driver(), withNote, { schema: NS })).rejects.toBeInstanceOf(MigrationError);
			expect(await count()).toBe(1);
			expect((await introspect(driver(), NS)).tables.has("note")).toBe(false);
			await driver().query(`delete from ${NS}."session"`, []);
			const second = await applyMigrations(driver(), withNote, { schema: NS });
			expect(second.steps.map((s) => `${s.kind} ${s.target}`).sort()).toEqual(
				["addForeignKey session.userId", "createTable note"].sort(),
			);
			const last = await lastMigration(driver(), NS);
			expect(await count()).toBe(2);
			expect(last!.id).toBeGreaterThan(row!.id);
			expect(last!.steps.map((s) => s.target).sort()).toEqual(["note", "session.userId"]);
			expect(last!.tool).toMatch(/^@authpg\/core \S+$/);
			expect(last!.planHash).not.toBe(row!.planHash);
		});

		it("two concurrent migrators: one applies, the other finds nothing; neither errors", async () => {
			await reset(driver(), NS);
			// On a single session the second migrator is a second caller on it: it waits for the first's transaction.
			const second = connect ? await connect() : driver();
			if (connect) others.push(second);
			const [a, b] = await Promise.all([
				applyMigrations(driver(), arraysPlugin, { schema: NS }),
				applyMigrations(second, arraysPlugin, { schema: NS }),
			]);
			const counts = [a.steps.length, b.steps.length].sort((x, y) => x - y);
			expect(counts[0]).toBe(0);
			expect(counts[1]).toBeGreaterThan(5);
		});

		itWhen(
			connect !== undefined,
			"needs a second session holding a table lock; on a single session the migration waits for that session's transaction, not for a lock",
		)("lock_timeout stops a migration queued behind live traffic, with nothing applied", async () => {
			await freshAdapter(driver(), NS);
			const holder = await connect!();
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
			expect([...live.tables.keys()].sort()).toEqual([
				"accounts",
				"authpg_migrations",
				"member_accounts",
				"sessions",
				"verifications",
			]);
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

		it("case-insensitive indexes: lower(email) serves the adapter's insensitive lookups with an index scan (10 000 users)", async () => {
			const options: BetterAuthOptions = {
				user: { additionalFields: { username: { type: "string", required: false } } },
			};
			await freshAdapter(driver(), NS, options);
			const plan = await applyMigrations(driver(), options, { schema: NS, caseInsensitiveIndexes: true });
			expect(plan.steps.map((s) => `${s.kind} ${s.target} ${s.safety}`)).toEqual([
				"createIndex user_email_lower_idx locking",
				"createIndex user_username_lower_idx locking",
			]);
			expect(plan.steps[0]!.sql).toBe(
				`create index if not exists "user_email_lower_idx" on "${NS}"."user" (lower("email"))`,
			);
			expect((await planMigrations(driver(), options, { schema: NS, caseInsensitiveIndexes: true })).steps).toEqual([]);
			await driver().query(
				`insert into ${NS}."user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt", "username")
				 select 'u' || i, 'n' || i, 'User' || i || '@Example.com', false, now(), now(), 'Name' || i from generate_series(1, 10000) i`,
				[],
			);
			await driver().query(`analyze ${NS}."user"`, []);
			const counting = countingDriver(driver());
			const adapter = postgresAdapter(counting, { schema: NS })(options);
			const explain = async (where: { field: string; value: string; operator?: "eq" | "starts_with" }) => {
				counting.reset();
				const found = await adapter.findOne<{ id: string }>({
					model: "user",
					where: [{ ...where, mode: "insensitive" }],
				});
				const [statement] = counting.statements;
				const { rows } = await driver().query<{ "QUERY PLAN": string }>(`explain ${statement}`, [where.value]);
				return { found, plan: rows.map((r) => r["QUERY PLAN"]).join("\n") };
			};
			const byEmail = await explain({ field: "email", value: "user5000@EXAMPLE.com" });
			expect(byEmail.found?.id).toBe("u5000");
			expect(byEmail.plan).toMatch(/Index (Only )?Scan (using|on) "?user_email_lower_idx/);
			const byName = await explain({ field: "username", value: "NAME77" });
			expect(byName.found?.id).toBe("u77");
			expect(byName.plan).toMatch(/Index (Only )?Scan (using|on) "?user_username_lower_idx/);
			// LIKE reads the same lower(…) expression (ilike could use no such index).
			const prefix = await adapter.findMany<{ id: string }>({
				model: "user",
				where: [{ field: "email", operator: "ends_with", value: "9999@EXAMPLE.COM", mode: "insensitive" }],
			});
			expect(prefix.map((u) => u.id)).toEqual(["u9999"]);
		});

		it("a unique case-insensitive email index is refused, listing the duplicates, while they exist", async () => {
			const adapter = await freshAdapter(driver(), NS);
			for (const email of [
				"Ann@example.com",
				"ann@EXAMPLE.com",
				"bob@example.com",
				"BOB@example.com",
				"cy@example.com",
			]) {
				await adapter.create({ model: "user", data: user({ email }) });
			}
			const plan = await planMigrations(driver(), {}, { schema: NS, caseInsensitiveIndexes: "unique" });
			expect(plan.blockers).toEqual([
				expect.objectContaining({ kind: "caseInsensitiveDuplicates", target: "user_email_lower_uidx" }),
			]);
			expect(plan.blockers[0]!.message).toContain(
				"Ann@example.com = ann@EXAMPLE.com; BOB@example.com = bob@example.com",
			);
			expect(plan.blockers[0]!.message).not.toContain("cy@example.com");
			await expect(
				applyMigrations(driver(), {}, { schema: NS, caseInsensitiveIndexes: "unique" }),
			).rejects.toBeInstanceOf(UnsafeMigrationError);
			await driver().query(`delete from ${NS}."user" where "email" in ('ann@EXAMPLE.com', 'BOB@example.com')`, []);
			const applied = await applyMigrations(driver(), {}, { schema: NS, caseInsensitiveIndexes: "unique" });
			expect(applied.steps.map((s) => s.sql)).toEqual([
				`create unique index if not exists "user_email_lower_uidx" on "${NS}"."user" (lower("email"))`,
			]);
			await expect(adapter.create({ model: "user", data: user({ email: "CY@example.com" }) })).rejects.toThrow();
			expect((await planMigrations(driver(), {}, { schema: NS, caseInsensitiveIndexes: "unique" })).steps).toEqual([]);
		});

		describe("parity with Better Auth's migrator", () => {
			for (const [label, options] of Object.entries(paritySets)) {
				it(label, async () => {
					const theirs = `${NS}_ba`;
					await reset(driver(), NS, theirs);
					await driver().query(`create schema ${theirs}`, []);
					await betterAuthMigrate(context, theirs, options);
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
			await betterAuthMigrate(context, theirs, arraysPlugin);
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
