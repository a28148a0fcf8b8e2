import type { Driver } from "@authpg/core";
import { describe, expect, it } from "vitest";
import { freshAdapter, pluginWith } from "./fixture.js";

const NS = "authpg_arrays";
const options = pluginWith("bag", {
	tags: { type: "string[]", required: true },
	scores: { type: "number[]", required: false },
});

/** `string[]`/`number[]` are native Postgres arrays, and awkward elements survive. */
export function arraysSuite(driver: () => Driver) {
	describe("native arrays", () => {
		it("creates text[] and bigint[] columns", async () => {
			await freshAdapter(driver(), NS, options);
			const { rows } = await driver().query<{ column: string; type: string }>(
				`select a.attname as "column", format_type(a.atttypid, a.atttypmod) as "type"
				   from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
				  where n.nspname = $1 and c.relname = 'bag' and a.attname in ('tags', 'scores') order by 1`,
				[NS],
			);
			expect(rows).toEqual([
				{ column: "scores", type: "bigint[]" },
				{ column: "tags", type: "text[]" },
			]);
		});

		it("round-trips commas, quotes, braces, NULL, empty strings, backslashes and unicode", async () => {
			const adapter = await freshAdapter(driver(), NS, options);
			const tags = ["a,b", 'say "hi"', "{braces}", "NULL", "", "back\\slash", "émoji 😀", " spaced "];
			const scores = [0, -7, 2 ** 40, 42];
			const created = await adapter.create<Record<string, unknown>>({ model: "bag", data: { tags, scores } });
			expect(created.tags).toEqual(tags);
			expect(created.scores).toEqual(scores);
			const found = await adapter.findOne<Record<string, unknown>>({
				model: "bag",
				where: [{ field: "id", value: created.id as string }],
			});
			expect(found?.tags).toEqual(tags);
			expect(found?.scores).toEqual(scores);
			const empty = await adapter.create<Record<string, unknown>>({ model: "bag", data: { tags: [], scores: null } });
			expect(empty.tags).toEqual([]);
			expect(empty.scores).toBeNull();
			const updated = await adapter.update<Record<string, unknown>>({
				model: "bag",
				where: [{ field: "id", value: empty.id as string }],
				update: { tags: ["x", ""] },
			});
			expect(updated?.tags).toEqual(["x", ""]);
		});
	});
}
