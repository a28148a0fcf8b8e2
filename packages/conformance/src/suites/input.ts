import { type Driver, InvalidValueError, QueryError, UnknownFieldError, UnknownModelError } from "@authpg/core";
import { describe, expect, it } from "vitest";
import { freshAdapter, pluginWith, user } from "./fixture.js";

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

/** A model with one field of each kind that can hold hostile input. */
const hostileModel = pluginWith("hostile", {
	label: { type: "string", required: false },
	tags: { type: "string[]", required: false },
	doc: { type: "json", required: false },
	at: { type: "date", required: false },
});

/** `count` copies of a mix of ASCII, accents, CJK and emoji, about `bytes` bytes of UTF-8. */
function longText(bytes: number): string {
	const unit = "authpg ünïcödé 漢字 😀 '\"\\%_ ";
	return unit.repeat(Math.ceil(bytes / new TextEncoder().encode(unit).length));
}

/** Text that does not compress: a btree index cannot hold a megabyte of it. */
function randomText(chars: number): string {
	let out = "";
	while (out.length < chars) out += Math.random().toString(36).slice(2);
	return out.slice(0, chars);
}

async function failure(promise: Promise<unknown>): Promise<Error> {
	return promise.then(
		() => {
			throw new Error("expected the call to fail");
		},
		(error: Error) => error,
	);
}

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

		it("unknown models and fields are typed errors that name them, whatever the operation", async () => {
			const adapter = await freshAdapter(driver(), NS);
			const calls: [RegExp, () => Promise<unknown>][] = [
				[/"nope_model"/, () => adapter.create({ model: "nope_model", data: {} })],
				[/"nope_model"/, () => adapter.count({ model: "nope_model" })],
				[/"nope_model"/, () => adapter.deleteMany({ model: "nope_model", where: [] })],
				[
					/"nope_field" is not in model "user"/,
					() => adapter.update({ model: "user", where: [{ field: "nope_field", value: 1 }], update: { name: "x" } }),
				],
				[/"nope_field" is not in model "user"/, () => adapter.findMany({ model: "user", select: ["nope_field"] })],
				[
					/"nope_field" is not in model "user"/,
					() =>
						adapter.incrementOne({ model: "user", where: [{ field: "id", value: "x" }], increment: { nope_field: 1 } }),
				],
				[
					/"nope_field" is not in model "user"/,
					() => adapter.consumeOne({ model: "user", where: [{ field: "nope_field", value: "x" }] }),
				],
			];
			for (const [message, call] of calls) {
				const error = await failure(call());
				expect(error).toSatisfy((e) => e instanceof UnknownModelError || e instanceof UnknownFieldError);
				expect(error.message).toMatch(message);
			}
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

		it("NUL characters: InvalidValueError naming the field, never the value, for text, text[] and jsonb, in writes and wheres; nothing written", async () => {
			const adapter = await freshAdapter(driver(), NS, hostileModel);
			const secret = "s3cr3t\u0000tail";
			const checks: [string, () => Promise<unknown>][] = [
				["name", () => adapter.create({ model: "user", data: user({ name: secret }) })],
				["label", () => adapter.create({ model: "hostile", data: { label: secret } })],
				["tags", () => adapter.create({ model: "hostile", data: { tags: ["fine", secret] } })],
				["doc", () => adapter.create({ model: "hostile", data: { doc: { nested: [secret] } } })],
				["doc", () => adapter.create({ model: "hostile", data: { doc: { [secret]: 1 } } })],
				["name", () => adapter.findOne({ model: "user", where: [{ field: "name", value: secret }] })],
				[
					"name",
					() => adapter.findMany({ model: "user", where: [{ field: "name", operator: "contains", value: secret }] }),
				],
				[
					"name",
					() => adapter.findMany({ model: "user", where: [{ field: "name", operator: "in", value: ["a", secret] }] }),
				],
				[
					"name",
					() => adapter.count({ model: "user", where: [{ field: "name", value: secret, mode: "insensitive" }] }),
				],
			];
			for (const [field, call] of checks) {
				const error = await failure(call());
				expect(error).toBeInstanceOf(InvalidValueError);
				expect(error.message).toContain(`"${field}"`);
				expect(error.message).toMatch(/NUL/);
				expect(error.message).not.toContain("s3cr3t");
			}
			const kept = await adapter.create<{ id: string; name: string }>({ model: "user", data: user({ name: "kept" }) });
			const where = [{ field: "id", value: kept.id }];
			expect(await failure(adapter.update({ model: "user", where, update: { name: secret } }))).toBeInstanceOf(
				InvalidValueError,
			);
			expect(await failure(adapter.updateMany({ model: "user", where, update: { name: secret } }))).toBeInstanceOf(
				InvalidValueError,
			);
			expect((await adapter.findOne<{ name: string }>({ model: "user", where }))?.name).toBe("kept");
			expect(await adapter.count({ model: "user" })).toBe(1);
			expect(await adapter.count({ model: "hostile" })).toBe(0);
			// Text that merely spells an escape is not a NUL, and round-trips.
			const spelled = await adapter.create<{ id: string; doc: unknown; label: string }>({
				model: "hostile",
				data: { doc: { text: "\\u0000 and \\\\u0000 and \\ud800" }, label: "\\0 \\x00" },
			});
			expect(spelled.doc).toEqual({ text: "\\u0000 and \\\\u0000 and \\ud800" });
			expect(spelled.label).toBe("\\0 \\x00");
		});

		it("unpaired surrogates (not valid Unicode, they would not read back) are InvalidValueError; paired ones round-trip", async () => {
			const adapter = await freshAdapter(driver(), NS, hostileModel);
			for (const bad of ["lone \uD800 high", "lone \uDC00 low", "reversed \uDE00\uD83D", "end \uD83D"]) {
				expect(await failure(adapter.create({ model: "user", data: user({ name: bad }) }))).toBeInstanceOf(
					InvalidValueError,
				);
				expect(await failure(adapter.create({ model: "hostile", data: { doc: { bad } } }))).toBeInstanceOf(
					InvalidValueError,
				);
				expect(await failure(adapter.create({ model: "hostile", data: { tags: [bad] } }))).toBeInstanceOf(
					InvalidValueError,
				);
			}
			expect(await adapter.count({ model: "user" })).toBe(0);
			expect(await adapter.count({ model: "hostile" })).toBe(0);
			const fine = "astral \uD83D\uDE00 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{10FFFF} zero\u200Bwidth rtl \u202Eabc combining e\u0301";
			const created = await adapter.create<{ id: string; label: string; tags: string[]; doc: unknown }>({
				model: "hostile",
				data: { label: fine, tags: [fine, ""], doc: { [fine]: fine } },
			});
			const found = await adapter.findOne<{ label: string; tags: string[]; doc: unknown }>({
				model: "hostile",
				where: [{ field: "label", value: fine }],
			});
			expect(found).toMatchObject({ label: fine, tags: [fine, ""], doc: { [fine]: fine } });
			expect(created.label).toBe(fine);
		});

		it("a 1 MB JSON document and 1 MB strings round-trip; a 1 MB value in an indexed column is a QueryError and writes nothing", async () => {
			const adapter = await freshAdapter(driver(), NS, hostileModel);
			const doc = {
				items: Array.from({ length: 2_000 }, (_, i) => ({ i, text: longText(600), flag: i % 2 === 0, none: null })),
				nested: { deeper: { deepest: [1.5, -0, 1e21, "x"] } },
			};
			expect(JSON.stringify(doc).length).toBeGreaterThan(1_000_000);
			const text = longText(1_000_000);
			const created = await adapter.create<{ id: string }>({
				model: "hostile",
				data: { doc, label: text, tags: [text, "short"] },
			});
			const found = await adapter.findOne<{ doc: unknown; label: string; tags: string[] }>({
				model: "hostile",
				where: [{ field: "id", value: created.id }],
			});
			expect(found?.doc).toEqual(JSON.parse(JSON.stringify(doc)));
			expect(found?.label).toBe(text);
			expect(found?.tags).toEqual([text, "short"]);
			expect(
				await adapter.count({
					model: "hostile",
					where: [{ field: "label", operator: "ends_with", value: text.slice(-5000) }],
				}),
			).toBe(1);
			const named = await adapter.create<{ id: string; name: string }>({ model: "user", data: user({ name: text }) });
			expect(
				(await adapter.findOne<{ name: string }>({ model: "user", where: [{ field: "id", value: named.id }] }))?.name,
			).toBe(text);
			// user.email carries a unique btree index, whose entries must fit in a page.
			const error = await failure(
				adapter.create({ model: "user", data: user({ email: `${randomText(1_000_000)}@example.com` }) }),
			);
			expect(error).toBeInstanceOf(QueryError);
			expect(error).toMatchObject({ sqlState: "54000" });
			expect(await adapter.count({ model: "user" })).toBe(1);
		});

		it("dates at the edges of the range round-trip (rows and joins); before 4714 BC and invalid dates are InvalidValueError", async () => {
			const adapter = await freshAdapter(driver(), NS, hostileModel);
			const edges = [
				new Date("0001-01-01T00:00:00.000Z"),
				new Date("1969-12-31T23:59:59.999Z"),
				new Date("1970-01-01T00:00:00.000Z"),
				new Date("2038-01-19T03:14:08.000Z"),
				new Date("9999-12-31T23:59:59.999Z"),
				new Date("+010000-01-01T00:00:00.000Z"),
				new Date(8.64e15), // the latest date JavaScript has: +275760-09-13
				new Date(Date.UTC(0, 0, 1)), // 1 BC
				new Date(Date.UTC(-4713, 10, 24)), // the earliest timestamptz: 4714-11-24 BC
			];
			// Date.UTC maps years 0..99 to 1900..1999; set the full year explicitly.
			edges[7]!.setUTCFullYear(0);
			for (const at of edges) {
				const created = await adapter.create<{ id: string; at: Date }>({ model: "hostile", data: { at } });
				expect(created.at.toISOString()).toBe(at.toISOString());
				const found = await adapter.findOne<{ at: Date }>({ model: "hostile", where: [{ field: "at", value: at }] });
				expect(found?.at.toISOString()).toBe(at.toISOString());
				const u = await adapter.create<{ id: string }>({ model: "user", data: user() });
				await adapter.create({
					model: "session",
					data: { userId: u.id, token: `edge-${at.getTime()}`, expiresAt: at, createdAt: at, updatedAt: at },
				});
				const joined = await adapter.findOne<{ session: { expiresAt: Date }[] }>({
					model: "user",
					where: [{ field: "id", value: u.id }],
					join: { session: true },
				});
				expect(joined?.session[0]?.expiresAt.toISOString()).toBe(at.toISOString());
			}
			expect(await adapter.count({ model: "hostile" })).toBe(edges.length);
			const tooEarly = new Date(Date.UTC(-4713, 10, 23, 23, 59, 59, 999));
			for (const at of [tooEarly, new Date(-8.64e15), new Date(Number.NaN)]) {
				const error = await failure(adapter.create({ model: "hostile", data: { at } }));
				expect(error).toBeInstanceOf(InvalidValueError);
				expect(error.message).toContain('"at"');
				expect(
					await failure(adapter.findMany({ model: "hostile", where: [{ field: "at", operator: "lt", value: at }] })),
				).toBeInstanceOf(InvalidValueError);
			}
			expect(await adapter.count({ model: "hostile" })).toBe(edges.length);
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
