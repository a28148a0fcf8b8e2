import type { Driver } from "@authpg/core";
import { describe, expect, it } from "vitest";
import { freshAdapter, user } from "./fixture.js";

/** `schema: "auth"` puts every table, index and row in `auth`, nothing in `public`. */
export function namespaceSuite(driver: () => Driver) {
	describe("schema namespace", () => {
		it("creates and uses every table in the configured schema only", async () => {
			await driver().query("drop schema if exists public cascade", []);
			await driver().query("create schema public", []);
			const adapter = await freshAdapter(driver(), "auth");
			const created = await adapter.create<{ id: string }>({ model: "user", data: user() });
			await adapter.create({
				model: "session",
				data: {
					userId: created.id,
					token: "t-ns",
					expiresAt: new Date(Date.now() + 60_000),
					createdAt: new Date(),
					updatedAt: new Date(),
				},
			});
			const { rows } = await driver().query<{ schema: string; name: string }>(
				`select n.nspname as "schema", c.relname as "name" from pg_class c join pg_namespace n on n.oid = c.relnamespace
				  where c.relkind in ('r', 'i') and n.nspname in ('auth', 'public') order by 1, 2`,
				[],
			);
			const tables = rows.map((r) => `${r.schema}.${r.name}`);
			for (const t of ["user", "session", "account", "verification"]) expect(tables).toContain(`auth.${t}`);
			expect(rows.filter((r) => r.schema === "public")).toEqual([]);
			const count = await driver().query<{ n: string }>('select count(*) as n from auth."user"', []);
			expect(Number(count.rows[0]!.n)).toBe(1);
			const session = await adapter.findOne<{ user: { id: string } }>({
				model: "session",
				where: [{ field: "token", value: "t-ns" }],
				join: { user: true },
			});
			expect(session?.user.id).toBe(created.id);
		});
	});
}
