import type { Driver } from "@authpg/core";
import { beforeAll, describe, expect, it } from "vitest";
import { type CountingDriver, countingDriver } from "./counting-driver.js";
import { freshAdapter, user } from "./fixture.js";

const NS = "authpg_joins";

/** A join is part of the base statement: one round trip, whatever the join. */
export function joinsSuite(driver: () => Driver) {
	describe("joins in one statement", () => {
		let counting: CountingDriver;
		let adapter: Awaited<ReturnType<typeof freshAdapter>>;
		let userId: string;
		beforeAll(async () => {
			counting = countingDriver(driver());
			adapter = await freshAdapter(counting, NS);
			userId = (await adapter.create<{ id: string }>({ model: "user", data: user({ name: "Joiner" }) })).id;
			for (let i = 0; i < 3; i++) {
				await adapter.create({
					model: "session",
					data: {
						userId,
						token: `join-${i}`,
						expiresAt: new Date(Date.now() + 60_000),
						createdAt: new Date(),
						updatedAt: new Date(),
					},
				});
				await adapter.create({
					model: "account",
					data: { userId, accountId: `acc-${i}`, providerId: "test", createdAt: new Date(), updatedAt: new Date() },
				});
			}
		});

		it("findOne session + user is one statement", async () => {
			counting.reset();
			const session = await adapter.findOne<{ token: string; user: { id: string; name: string; createdAt: Date } }>({
				model: "session",
				where: [{ field: "token", value: "join-1" }],
				join: { user: true },
			});
			expect(counting.statements).toHaveLength(1);
			expect(session?.user.name).toBe("Joiner");
			expect(session?.user.createdAt).toBeInstanceOf(Date);
		});

		it("findOne user + sessions + accounts is one statement, arrays limited", async () => {
			counting.reset();
			const found = await adapter.findOne<{ session: { token: string }[]; account: unknown[] }>({
				model: "user",
				where: [{ field: "id", value: userId }],
				join: { session: { limit: 2 }, account: true },
			});
			expect(counting.statements).toHaveLength(1);
			expect(found?.session).toHaveLength(2);
			expect(found?.account).toHaveLength(3);
		});

		it("findMany with a join is one statement", async () => {
			counting.reset();
			const users = await adapter.findMany<{ session: unknown[] }>({
				model: "user",
				join: { session: true },
				limit: 10,
			});
			expect(counting.statements).toHaveLength(1);
			expect(users[0]?.session).toHaveLength(3);
		});
	});
}
