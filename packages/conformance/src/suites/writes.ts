import type { Driver } from "@authpg/core";
import { describe, expect, it } from "vitest";
import { freshAdapter, pluginWith, user } from "./fixture.js";

/**
 * Better Auth's own test for a unique violation (1.7.29 on), loaded when a test asks: a top-level
 * await here would make every entry point of this package refuse `require()`.
 */
const betterAuthUniqueViolation = () =>
	import("@better-auth/core/db/internal").then(
		(module) => (module as { isUniqueViolation?: (error: unknown) => boolean }).isUniqueViolation,
		() => undefined,
	);

/** SQLSTATE 23505 as `code` on the error or its `cause` chain: what `isUniqueViolation` reads. */
function carriesUniqueViolationCode(error: unknown): boolean {
	for (let e = error; typeof e === "object" && e !== null; e = (e as { cause?: unknown }).cause) {
		if ((e as { code?: unknown }).code === "23505") return true;
	}
	return false;
}

const NS = "authpg_writes";

const verification = (identifier: string, value: string, expiresAt: Date) => ({
	identifier,
	value,
	expiresAt,
	createdAt: new Date(),
	updatedAt: new Date(),
});

/** Affected counts, transactions and atomic single-row operations. */
export function writesSuite(driver: () => Driver) {
	describe("writes", () => {
		it("updateMany and deleteMany return the true affected counts", async () => {
			const adapter = await freshAdapter(driver(), NS);
			for (let i = 0; i < 7; i++) await adapter.create({ model: "user", data: user({ emailVerified: i < 4 }) });
			expect(
				await adapter.updateMany({
					model: "user",
					where: [{ field: "emailVerified", value: true }],
					update: { name: "v" },
				}),
			).toBe(4);
			expect(
				await adapter.updateMany({ model: "user", where: [{ field: "name", value: "nobody" }], update: { name: "x" } }),
			).toBe(0);
			expect(await adapter.deleteMany({ model: "user", where: [{ field: "name", value: "v" }] })).toBe(4);
			expect(await adapter.deleteMany({ model: "user", where: [] })).toBe(3);
			expect(await adapter.count({ model: "user" })).toBe(0);
		});

		it("a transaction that throws leaves nothing behind", async () => {
			const adapter = await freshAdapter(driver(), NS);
			const failure = new Error("boom");
			await expect(
				adapter.transaction(async (tx) => {
					const created = await tx.create<{ id: string }>({ model: "user", data: user() });
					await tx.create({
						model: "session",
						data: {
							userId: created.id,
							token: "tx-1",
							expiresAt: new Date(),
							createdAt: new Date(),
							updatedAt: new Date(),
						},
					});
					expect(await tx.count({ model: "user" })).toBe(1);
					throw failure;
				}),
			).rejects.toBe(failure);
			expect(await adapter.count({ model: "user" })).toBe(0);
			expect(await adapter.count({ model: "session" })).toBe(0);
		});

		it("a failing statement inside a transaction rolls back the earlier ones", async () => {
			const adapter = await freshAdapter(driver(), NS);
			const email = "dup@example.com";
			await expect(
				adapter.transaction(async (tx) => {
					await tx.create({ model: "user", data: user({ email }) });
					await tx.create({ model: "user", data: user({ email }) }); // unique violation
				}),
			).rejects.toMatchObject({ code: "QUERY_FAILED", sqlState: "23505" });
			expect(await adapter.count({ model: "user" })).toBe(0);
		});

		// Better Auth (1.7.29 on) reads a unique violation off the adapter's error to recover, e.g. a verification
		// row whose id it derives from the identifier; our QueryError must read as one, outside and inside a transaction.
		// On a Better Auth without isUniqueViolation, the same contract is checked directly: 23505 as a `code` on the chain.
		it("a unique violation is one Better Auth's isUniqueViolation recognises", async () => {
			const isUniqueViolation = (await betterAuthUniqueViolation()) ?? carriesUniqueViolationCode;
			const adapter = await freshAdapter(driver(), NS);
			const email = "unique@example.com";
			await adapter.create({ model: "user", data: user({ email }) });
			const outside = await adapter.create({ model: "user", data: user({ email }) }).catch((e: unknown) => e);
			const inside = await adapter
				.transaction((tx) => tx.create({ model: "user", data: user({ email }) }))
				.catch((e: unknown) => e);
			const other = await adapter
				.create({ model: "user", data: { ...user({ email: "other@example.com" }), name: null } })
				.catch((e: unknown) => e);
			expect(isUniqueViolation(outside)).toBe(true);
			expect(isUniqueViolation(inside)).toBe(true);
			expect(other).toMatchObject({ sqlState: "23502" });
			expect(isUniqueViolation(other)).toBe(false);
		});

		it("50 concurrent consumeOne on one row: exactly one winner (5 rounds)", async () => {
			const adapter = await freshAdapter(driver(), NS);
			for (let round = 0; round < 5; round++) {
				const identifier = `consume-${round}`;
				await adapter.create({
					model: "verification",
					data: verification(identifier, "v", new Date(Date.now() + 60_000)),
				});
				const results = await Promise.all(
					Array.from({ length: 50 }, () =>
						adapter.consumeOne<{ identifier: string }>({
							model: "verification",
							where: [{ field: "identifier", value: identifier }],
						}),
					),
				);
				const winners = results.filter((r) => r !== null);
				expect(winners).toHaveLength(1);
				expect(winners[0]?.identifier).toBe(identifier);
				expect(
					await adapter.count({ model: "verification", where: [{ field: "identifier", value: identifier }] }),
				).toBe(0);
			}
		});

		it("50 concurrent consumeOne by id (the plain unique-key statement): exactly one winner (5 rounds)", async () => {
			const adapter = await freshAdapter(driver(), NS);
			for (let round = 0; round < 5; round++) {
				const row = await adapter.create<{ id: string }>({
					model: "verification",
					data: verification(`by-id-${round}`, "v", new Date(Date.now() + 60_000)),
				});
				const results = await Promise.all(
					Array.from({ length: 50 }, () =>
						adapter.consumeOne<{ id: string }>({ model: "verification", where: [{ field: "id", value: row.id }] }),
					),
				);
				const winners = results.filter((r) => r !== null);
				expect(winners).toHaveLength(1);
				expect(winners[0]?.id).toBe(row.id);
				expect(await adapter.count({ model: "verification", where: [{ field: "id", value: row.id }] })).toBe(0);
			}
		});

		it("consumeOne removes exactly one row when several match", async () => {
			const adapter = await freshAdapter(driver(), NS);
			for (let i = 0; i < 3; i++) {
				await adapter.create({
					model: "verification",
					data: verification("same", `v${i}`, new Date()),
				});
			}
			expect(
				await adapter.consumeOne({ model: "verification", where: [{ field: "identifier", value: "same" }] }),
			).not.toBeNull();
			expect(await adapter.count({ model: "verification" })).toBe(2);
		});

		it("incrementOne: 200 concurrent increments add exactly 200 (3 rounds); a guard stops at its bound", async () => {
			const options = pluginWith("counter", { hits: { type: "number", required: true, defaultValue: 0 } });
			const adapter = await freshAdapter(driver(), NS, options);
			const counter = await adapter.create<{ id: string }>({ model: "counter", data: {} });
			const where = [{ field: "id", value: counter.id }];
			for (let round = 1; round <= 3; round++) {
				const results = await Promise.all(
					Array.from({ length: 200 }, () => adapter.incrementOne({ model: "counter", where, increment: { hits: 1 } })),
				);
				// Each caller sees the row as its own increment left it: 200 distinct values, none lost.
				expect(new Set(results.map((r) => (r as { hits: number } | null)?.hits)).size).toBe(200);
				expect((await adapter.findOne<{ hits: number }>({ model: "counter", where }))?.hits).toBe(200 * round);
			}
			const bound = 600 + 5;
			const guarded = [...where, { field: "hits", operator: "lt" as const, value: bound }];
			const results = await Promise.all(
				Array.from({ length: 20 }, () =>
					adapter.incrementOne({ model: "counter", where: guarded, increment: { hits: 1 } }),
				),
			);
			expect(results.filter((r) => r !== null)).toHaveLength(5);
			expect((await adapter.findOne<{ hits: number }>({ model: "counter", where }))?.hits).toBe(bound);
		});
	});
}
