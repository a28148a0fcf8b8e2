import type { Driver } from "@authpg/core";
import type { Where } from "better-auth";
import { beforeAll, describe, expect, it } from "vitest";
import { freshAdapter, user } from "./fixture.js";

const NS = "authpg_where";

interface Seed {
	name: string;
	emailVerified: boolean;
	image: string | null;
	createdAt: Date;
}

const day = (n: number) => new Date(Date.UTC(2025, 0, n));
const seeds: Seed[] = [
	{ name: "Alice", emailVerified: true, image: null, createdAt: day(1) },
	{ name: "alice", emailVerified: false, image: "a.png", createdAt: day(2) },
	{ name: "Bob", emailVerified: true, image: "b.png", createdAt: day(3) },
	{ name: "50%_off\\", emailVerified: false, image: null, createdAt: day(4) },
	{ name: "50 off", emailVerified: false, image: null, createdAt: day(5) },
	{ name: "under_score", emailVerified: true, image: null, createdAt: day(6) },
	{ name: "underXscore", emailVerified: true, image: "x.png", createdAt: day(7) },
	{ name: "O'Brien", emailVerified: false, image: "o.png", createdAt: day(8) },
	{ name: "Zoë 😀", emailVerified: true, image: null, createdAt: day(9) },
];

type Case = [label: string, where: Where[], expected: (s: Seed) => boolean];

const lower = (s: string) => s.toLowerCase();
const many = Array.from({ length: 300 }, (_, i) => `nobody-${i}`);
const cases: Case[] = [
	["eq", [{ field: "name", value: "Bob" }], (s) => s.name === "Bob"],
	["ne", [{ field: "name", operator: "ne", value: "Bob" }], (s) => s.name !== "Bob"],
	["eq null is IS NULL", [{ field: "image", value: null }], (s) => s.image === null],
	["ne null is IS NOT NULL", [{ field: "image", operator: "ne", value: null }], (s) => s.image !== null],
	["in", [{ field: "name", operator: "in", value: ["Bob", "alice"] }], (s) => s.name === "Bob" || s.name === "alice"],
	["in with an empty list", [{ field: "name", operator: "in", value: [] }], () => false],
	["in with 301 values", [{ field: "name", operator: "in", value: [...many, "Bob"] }], (s) => s.name === "Bob"],
	[
		"not_in",
		[{ field: "name", operator: "not_in", value: ["Bob", "alice"] }],
		(s) => s.name !== "Bob" && s.name !== "alice",
	],
	["not_in with an empty list", [{ field: "name", operator: "not_in", value: [] }], () => true],
	["contains % and _ literally", [{ field: "name", operator: "contains", value: "%_" }], (s) => s.name.includes("%_")],
	["contains _ literally", [{ field: "name", operator: "contains", value: "_" }], (s) => s.name.includes("_")],
	[
		"starts_with % literally",
		[{ field: "name", operator: "starts_with", value: "50%" }],
		(s) => s.name.startsWith("50%"),
	],
	["ends_with \\ literally", [{ field: "name", operator: "ends_with", value: "\\" }], (s) => s.name.endsWith("\\")],
	["contains a quote", [{ field: "name", operator: "contains", value: "'B" }], (s) => s.name.includes("'B")],
	["contains unicode", [{ field: "name", operator: "contains", value: "ë 😀" }], (s) => s.name.includes("ë 😀")],
	["insensitive eq", [{ field: "name", value: "ALICE", mode: "insensitive" }], (s) => lower(s.name) === "alice"],
	[
		"insensitive ne",
		[{ field: "name", operator: "ne", value: "ALICE", mode: "insensitive" }],
		(s) => lower(s.name) !== "alice",
	],
	[
		"insensitive in",
		[{ field: "name", operator: "in", value: ["ALICE", "bob"], mode: "insensitive" }],
		(s) => ["alice", "bob"].includes(lower(s.name)),
	],
	[
		"insensitive not_in",
		[{ field: "name", operator: "not_in", value: ["ALICE"], mode: "insensitive" }],
		(s) => lower(s.name) !== "alice",
	],
	[
		"insensitive contains",
		[{ field: "name", operator: "contains", value: "LIC", mode: "insensitive" }],
		(s) => lower(s.name).includes("lic"),
	],
	[
		"insensitive starts_with",
		[{ field: "name", operator: "starts_with", value: "UNDER", mode: "insensitive" }],
		(s) => lower(s.name).startsWith("under"),
	],
	[
		"insensitive ends_with keeps _ literal",
		[{ field: "name", operator: "ends_with", value: "_SCORE", mode: "insensitive" }],
		(s) => lower(s.name).endsWith("_score"),
	],
	["gt", [{ field: "createdAt", operator: "gt", value: day(7) }], (s) => s.createdAt > day(7)],
	["gte", [{ field: "createdAt", operator: "gte", value: day(7) }], (s) => s.createdAt >= day(7)],
	["lt", [{ field: "createdAt", operator: "lt", value: day(3) }], (s) => s.createdAt < day(3)],
	["lte", [{ field: "createdAt", operator: "lte", value: day(3) }], (s) => s.createdAt <= day(3)],
	["boolean eq", [{ field: "emailVerified", value: true }], (s) => s.emailVerified],
	[
		"AND group AND (OR group)",
		[
			{ field: "emailVerified", value: true },
			{ field: "name", value: "Bob", connector: "OR" },
			{ field: "name", value: "Alice", connector: "OR" },
		],
		(s) => s.emailVerified && (s.name === "Bob" || s.name === "Alice"),
	],
	[
		"OR group with nulls",
		[
			{ field: "image", value: null, connector: "OR" },
			{ field: "name", operator: "starts_with", value: "O'", connector: "OR" },
		],
		(s) => s.image === null || s.name.startsWith("O'"),
	],
	[
		"AND with eq and ne null",
		[
			{ field: "emailVerified", value: false },
			{ field: "image", operator: "ne", value: null },
		],
		(s) => !s.emailVerified && s.image !== null,
	],
];

/** Every operator and connector, with the same results on the plain and the join path. */
export function whereSuite(driver: () => Driver) {
	describe("where semantics", () => {
		let adapter: Awaited<ReturnType<typeof freshAdapter>>;
		beforeAll(async () => {
			adapter = await freshAdapter(driver(), NS);
			for (const seed of seeds) {
				const created = await adapter.create<{ id: string }>({ model: "user", data: user({ ...seed }) });
				await adapter.create({
					model: "session",
					data: {
						userId: created.id,
						token: `tok-${created.id}`,
						expiresAt: day(20),
						createdAt: day(1),
						updatedAt: day(1),
					},
				});
			}
		});

		for (const [label, where, expected] of cases) {
			it(label, async () => {
				const want = seeds
					.filter(expected)
					.map((s) => s.name)
					.sort();
				const plain = await adapter.findMany<{ name: string }>({ model: "user", where });
				expect(plain.map((u) => u.name).sort()).toEqual(want);
				const joined = await adapter.findMany<{ name: string; session: { token: string }[] }>({
					model: "user",
					where,
					join: { session: true },
				});
				expect(joined.map((u) => u.name).sort()).toEqual(want);
				for (const u of joined) expect(u.session).toHaveLength(1);
				expect(await adapter.count({ model: "user", where })).toBe(want.length);
			});
		}

		it("null comparisons in updateMany and deleteMany", async () => {
			const nulls = seeds.filter((s) => s.image === null).length;
			expect(
				await adapter.updateMany({
					model: "user",
					where: [{ field: "image", value: null }],
					update: { image: "set.png" },
				}),
			).toBe(nulls);
			expect(await adapter.count({ model: "user", where: [{ field: "image", value: null }] })).toBe(0);
			const deleted = await adapter.deleteMany({
				model: "user",
				where: [{ field: "image", operator: "ne", value: "set.png" }],
			});
			expect(deleted).toBe(seeds.length - nulls);
			expect(await adapter.count({ model: "user" })).toBe(nulls);
		});
	});
}
