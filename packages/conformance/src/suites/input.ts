import { type Driver, InvalidValueError, UnknownFieldError, UnknownModelError } from "@authpg/core";
import { describe, expect, it } from "vitest";
import { freshAdapter, user } from "./fixture.js";

const NS = "authpg_input";

const hostile = [
	"O'Reilly",
	'double "quoted"',
	"back\\slash\\\\",
	"100% _sure_",
	'\'; drop table "user"; --',
	"ünïcödé ÆØÅ 漢字",
	"emoji 😀👍🏽🏳️‍🌈",
	"tab\tnew\nline",
	"$1 $2 ? :name",
];

/** Hostile values round-trip; bad input fails with a typed error and writes nothing. */
export function inputSuite(driver: () => Driver) {
	describe("hostile and bad input", () => {
		it("hostile strings round-trip and match literally", async () => {
			const adapter = await freshAdapter(driver(), NS);
			for (const name of hostile) {
				const created = await adapter.create<{ id: string; name: string }>({ model: "user", data: user({ name }) });
				expect(created.name).toBe(name);
				const found = await adapter.findOne<{ name: string }>({
					model: "user",
					where: [{ field: "name", value: name }],
				});
				expect(found?.name).toBe(name);
			}
			for (const name of hostile) {
				const chars = Array.from(name);
				const middle = chars.slice(1, -1).join("");
				const hits = await adapter.findMany<{ name: string }>({
					model: "user",
					where: [{ field: "name", operator: "contains", value: middle }],
				});
				expect(hits.map((h) => h.name)).toContain(name);
				for (const h of hits) expect(h.name.includes(middle)).toBe(true);
				const starts = await adapter.findMany<{ name: string }>({
					model: "user",
					where: [{ field: "name", operator: "starts_with", value: name }],
				});
				expect(starts.map((h) => h.name)).toEqual([name]);
				const ends = await adapter.findMany<{ name: string }>({
					model: "user",
					where: [{ field: "name", operator: "ends_with", value: name }],
				});
				expect(ends.map((h) => h.name)).toEqual([name]);
			}
			expect(await adapter.count({ model: "user" })).toBe(hostile.length);
		});

		it("unknown models and fields are typed errors", async () => {
			const adapter = await freshAdapter(driver(), NS);
			await expect(adapter.findOne({ model: "nope", where: [] })).rejects.toBeInstanceOf(UnknownModelError);
			await expect(adapter.findOne({ model: "user", where: [{ field: "nope", value: 1 }] })).rejects.toBeInstanceOf(
				UnknownFieldError,
			);
			await expect(
				adapter.findMany({ model: "user", sortBy: { field: "nope", direction: "asc" } }),
			).rejects.toBeInstanceOf(UnknownFieldError);
			await expect(
				adapter.findMany({ model: "user", where: [{ field: "name", operator: "regex" as never, value: "x" }] }),
			).rejects.toBeInstanceOf(InvalidValueError);
			await expect(
				adapter.findMany({ model: "user", where: [{ field: "name", operator: "in", value: "x" }] }),
			).rejects.toBeInstanceOf(InvalidValueError);
		});

		it("a value Postgres rejects fails clearly and writes nothing", async () => {
			const adapter = await freshAdapter(driver(), NS);
			await expect(adapter.create({ model: "user", data: user({ createdAt: "not a date" }) })).rejects.toBeInstanceOf(
				Error,
			);
			await expect(adapter.create({ model: "user", data: { name: "no email" } })).rejects.toMatchObject({
				code: "QUERY_FAILED",
				sqlState: "23502",
			});
			expect(await adapter.count({ model: "user" })).toBe(0);
		});

		it("numeric ids reject non-numeric values with a typed error", async () => {
			const adapter = await freshAdapter(driver(), NS, { advanced: { database: { generateId: "serial" } } });
			const created = await adapter.create<{ id: string }>({ model: "user", data: user() });
			expect(typeof created.id).toBe("string");
			await expect(adapter.findOne({ model: "user", where: [{ field: "id", value: "abc" }] })).rejects.toBeInstanceOf(
				InvalidValueError,
			);
			expect(await adapter.findOne({ model: "user", where: [{ field: "id", value: created.id }] })).not.toBeNull();
		});
	});
}
