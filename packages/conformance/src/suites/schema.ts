import { type Driver, migrate, postgresAdapter } from "@authpg/core";
import type { BetterAuthOptions } from "better-auth";
import { describe, expect, it } from "vitest";
import { freshAdapter, pluginWith, user } from "./fixture.js";

const NS = "authpg_schema";

/** The schema module: `createSchema` SQL, idempotent and additive migrations. */
export function schemaSuite(driver: () => Driver) {
	describe("schema and migrations", () => {
		it("createSchema writes SQL that creates what migrate would, and nothing is left to plan", async () => {
			const options: BetterAuthOptions = pluginWith("bag", { tags: { type: "string[]", required: false } });
			await driver().query(`drop schema if exists ${NS} cascade`, []);
			const adapter = postgresAdapter(driver(), { schema: NS })(options);
			const created = await adapter.createSchema!(options, "schema.sql");
			expect(created.path).toBe("schema.sql");
			expect(created.code).toContain(`create schema if not exists "${NS}"`);
			expect(created.code).toContain('"tags" text[]');
			for (const statement of created.code.split(/;\n/).filter((s) => s.trim())) await driver().query(statement, []);
			const plan = await migrate(driver(), options, { schema: NS });
			expect(plan.steps).toEqual([]);
			expect(plan.conflicts).toEqual([]);
		});

		it("a second migration plans nothing", async () => {
			await freshAdapter(driver(), NS);
			const plan = await migrate(driver(), {}, { schema: NS });
			expect(plan.steps).toEqual([]);
		});

		it("enabling a plugin adds only its tables, columns and indexes; rows stay", async () => {
			const adapter = await freshAdapter(driver(), NS);
			await adapter.create({ model: "user", data: user({ name: "kept" }) });
			const withPlugin: BetterAuthOptions = {
				user: { additionalFields: { plan: { type: "string", required: true, defaultValue: "free" } } },
				...pluginWith("note", { body: { type: "string", required: true, index: true } }),
			};
			const plan = await migrate(driver(), withPlugin, { schema: NS });
			expect(plan.steps.map((s) => `${s.kind} ${s.target}`).sort()).toEqual(
				["addColumn user.plan", "createIndex note_body_idx", "createTable note"].sort(),
			);
			const after = postgresAdapter(driver(), { schema: NS })(withPlugin);
			const kept = await after.findOne<{ name: string; plan: string }>({
				model: "user",
				where: [{ field: "name", value: "kept" }],
			});
			expect(kept?.plan).toBe("free");
			expect((await migrate(driver(), withPlugin, { schema: NS })).steps).toEqual([]);
		});

		it("reports a column whose type differs instead of changing it", async () => {
			await freshAdapter(driver(), NS);
			await driver().query(`alter table ${NS}."user" alter column "emailVerified" type text`, []);
			const plan = await migrate(driver(), {}, { schema: NS });
			expect(plan.conflicts).toEqual([{ table: "user", column: "emailVerified", expected: "boolean", found: "text" }]);
		});
	});
}
