import { type Driver, postgresAdapter } from "@authpg/core";
import { betterAuth } from "better-auth";
import { beforeAll, describe, expect, it } from "vitest";
import { freshAdapter } from "./fixture.js";

const NS = "authpg_concurrency";

/** Better Auth flows racing each other through the adapter. */
export function concurrencySuite(driver: () => Driver) {
	describe("concurrency through Better Auth", () => {
		beforeAll(async () => {
			await freshAdapter(driver(), NS);
		});

		it("concurrent sign-ups with one email: one succeeds, the others get USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL, one user row (5 rounds)", async () => {
			const auth = betterAuth({
				database: postgresAdapter(driver(), { schema: NS }),
				baseURL: "http://localhost:3000",
				secret: "authpg-conformance-secret-0123456789abcdef",
				emailAndPassword: { enabled: true },
				rateLimit: { enabled: false },
				// The losers' failures are the expected outcome, not something to log.
				logger: { disabled: true },
			});
			const adapter = postgresAdapter(driver(), { schema: NS })({});
			for (const [round, callers] of [2, 2, 2, 2, 6].entries()) {
				const email = `race-${round}@example.com`;
				const results = await Promise.allSettled(
					Array.from({ length: callers }, (_, i) =>
						auth.api.signUpEmail({ body: { email, password: "correct horse battery", name: `Racer ${i}` } }),
					),
				);
				const winners = results.filter((r) => r.status === "fulfilled");
				expect(winners).toHaveLength(1);
				for (const loser of results.filter((r) => r.status === "rejected")) {
					expect(loser.reason).toMatchObject({
						statusCode: 422,
						body: { code: "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL" },
					});
				}
				const users = await adapter.findMany<{ id: string }>({
					model: "user",
					where: [{ field: "email", value: email }],
				});
				expect(users).toHaveLength(1);
				expect(await adapter.count({ model: "account", where: [{ field: "userId", value: users[0]!.id }] })).toBe(1);
			}
		});
	});
}
