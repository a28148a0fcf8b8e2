import {
	applyMigrations,
	type Driver,
	introspect,
	planMigrations,
	postgresAdapter,
	UnsafeMigrationError,
} from "@authpg/core";
import type { BetterAuthOptions } from "better-auth";
import { describe, expect, it } from "vitest";
import { countingDriver } from "./counting-driver.js";
import { freshAdapter, pluginWith, user } from "./fixture.js";
import { arraysPlugin, NS, reset } from "./migrations-fixture.js";

/** The planner: what it plans (fresh, idempotent, incremental, renamed, case-insensitive) and what it refuses. */
export function migrationPlanningSuite(driver: () => Driver) {
	describe("migrations", () => {
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
	});
}
