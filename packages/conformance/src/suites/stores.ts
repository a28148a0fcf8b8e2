import { applyMigrations, type Driver, postgresAdapter, rateLimitStorage, secondaryStorage } from "@authpg/core";
import { betterAuth } from "better-auth";
import { beforeAll, describe, expect, it } from "vitest";
import { freshAdapter } from "./fixture.js";

const NS = "authpg_stores";

/** The rate-limit store and the secondary storage: exact under concurrency. */
export function storesSuite(driver: () => Driver) {
	describe("rate limit and secondary storage", () => {
		beforeAll(async () => {
			await freshAdapter(driver(), NS);
			await applyMigrations(driver(), {}, { schema: NS, stores: ["rateLimit", "secondaryStorage"] });
		});

		it("creates UNLOGGED tables for both", async () => {
			const { rows } = await driver().query<{ name: string; persistence: string }>(
				`select c.relname as "name", c.relpersistence as "persistence" from pg_class c join pg_namespace n on n.oid = c.relnamespace
				  where n.nspname = $1 and c.relname in ('authpg_rate_limit', 'authpg_kv') order by 1`,
				[NS],
			);
			expect(rows).toEqual([
				{ name: "authpg_kv", persistence: "u" },
				{ name: "authpg_rate_limit", persistence: "u" },
			]);
		});

		it("200 concurrent consumes with max 10: exactly 10 allowed (3 runs)", async () => {
			const store = rateLimitStorage(driver(), { schema: NS });
			for (let run = 0; run < 3; run++) {
				const key = `burst-${run}`;
				const started = Date.now();
				const results = await Promise.all(
					Array.from({ length: 200 }, () => store.consume(key, { window: 60, max: 10 })),
				);
				// A denied request that ran a second after the last allowed one rightly waits a second less.
				const elapsed = Math.ceil((Date.now() - started) / 1000);
				expect(results.filter((r) => r.allowed)).toHaveLength(10);
				for (const r of results.filter((r) => !r.allowed)) {
					expect(r.retryAfter).toBeGreaterThanOrEqual(60 - elapsed);
					expect(r.retryAfter).toBeLessThanOrEqual(60);
				}
			}
		});

		it("retryAfter counts down from the last allowed request, and the window resets", async () => {
			const store = rateLimitStorage(driver(), { schema: NS });
			expect(await store.consume("w", { window: 10, max: 2 })).toEqual({ allowed: true, retryAfter: null });
			expect(await store.consume("w", { window: 10, max: 2 })).toEqual({ allowed: true, retryAfter: null });
			expect(await store.consume("w", { window: 10, max: 2 })).toEqual({ allowed: false, retryAfter: 10 });
			// Move the last allowed request 7.5 s into the past rather than sleeping.
			await driver().query(`update ${NS}.authpg_rate_limit set last_request = last_request - 7500 where key = 'w'`, []);
			expect(await store.consume("w", { window: 10, max: 2 })).toEqual({ allowed: false, retryAfter: 3 });
			await driver().query(`update ${NS}.authpg_rate_limit set last_request = last_request - 3000 where key = 'w'`, []);
			expect(await store.consume("w", { window: 10, max: 2 })).toEqual({ allowed: true, retryAfter: null });
			const { rows } = await driver().query<{ count: number }>(
				`select count from ${NS}.authpg_rate_limit where key = 'w'`,
				[],
			);
			expect(rows[0]?.count).toBe(1);
		});

		it("cleans expired rows up without a cron", async () => {
			const store = rateLimitStorage(driver(), { schema: NS, cleanupEvery: 5 });
			await driver().query(`update ${NS}.authpg_rate_limit set expires_at = now() - interval '1 second'`, []);
			for (let i = 0; i < 5; i++) await store.consume(`fresh-${i}`, { window: 60, max: 5 });
			await expect
				.poll(
					async () =>
						(await driver().query<{ n: string }>(`select count(*) as n from ${NS}.authpg_rate_limit`, [])).rows[0]?.n,
				)
				.toBe("5");
		});

		it("the (max+1)-th request to a rate-limited endpoint gets 429 through auth.handler", async () => {
			const auth = betterAuth({
				database: undefined,
				baseURL: "http://localhost:3000",
				secret: "authpg-conformance-secret-0123456789abcdef",
				emailAndPassword: { enabled: true },
				rateLimit: {
					enabled: true,
					window: 60,
					max: 100,
					customRules: { "/ok": { window: 60, max: 3 } },
					customStorage: rateLimitStorage(driver(), { schema: NS }),
				},
			});
			const statuses: number[] = [];
			for (let i = 0; i < 4; i++) {
				const response = await auth.handler(
					new Request("http://localhost:3000/api/auth/ok", { headers: { "x-forwarded-for": "203.0.113.7" } }),
				);
				statuses.push(response.status);
			}
			expect(statuses).toEqual([200, 200, 200, 429]);
		});

		it("secondary storage: get, set with ttl, delete; expired keys read as absent", async () => {
			const kv = secondaryStorage(driver(), { schema: NS });
			expect(await kv.get("missing")).toBeNull();
			await kv.set("a", "1");
			await kv.set("b", "2", 60);
			expect(await kv.get("a")).toBe("1");
			await kv.set("a", "one");
			expect(await kv.get("a")).toBe("one");
			await driver().query(`update ${NS}.authpg_kv set expires_at = now() - interval '1 second' where key = 'b'`, []);
			expect(await kv.get("b")).toBeNull();
			expect(await kv.getAndDelete("b")).toBeNull();
			await kv.delete("a");
			expect(await kv.get("a")).toBeNull();
		});

		it("Better Auth keeps sessions in the secondary storage", async () => {
			const auth = betterAuth({
				database: postgresAdapter(driver(), { schema: NS }),
				secondaryStorage: secondaryStorage(driver(), { schema: NS }),
				baseURL: "http://localhost:3000",
				secret: "authpg-conformance-secret-0123456789abcdef",
				emailAndPassword: { enabled: true },
			});
			const { headers, response } = await auth.api.signUpEmail({
				body: { email: "kv-user@example.com", password: "correct horse battery", name: "KV" },
				returnHeaders: true,
			});
			const token = response.token!;
			const cookie = headers
				.getSetCookie()
				.map((c) => c.split(";")[0])
				.join("; ");
			const { rows } = await driver().query<{ n: string }>(
				`select count(*) as n from ${NS}.authpg_kv where key like '%' || $1 || '%'`,
				[token],
			);
			expect(Number(rows[0]?.n)).toBeGreaterThan(0);
			const session = await auth.api.getSession({ headers: new Headers({ cookie }) });
			expect(session?.user.email).toBe("kv-user@example.com");
		});

		it("secondary storage: 50 concurrent getAndDelete, one winner", async () => {
			const kv = secondaryStorage(driver(), { schema: NS });
			await kv.set("once", "token", 60);
			const results = await Promise.all(Array.from({ length: 50 }, () => kv.getAndDelete("once")));
			expect(results.filter((r) => r === "token")).toHaveLength(1);
			expect(results.filter((r) => r === null)).toHaveLength(49);
		});

		it("secondary storage: 200 concurrent increments add up; the ttl is set on creation only", async () => {
			const kv = secondaryStorage(driver(), { schema: NS });
			const values = await Promise.all(Array.from({ length: 200 }, () => kv.increment("counter", 30)));
			expect(new Set(values).size).toBe(200);
			expect(Math.max(...values)).toBe(200);
			const first = await driver().query<{ expires: Date }>(
				`select expires_at as expires from ${NS}.authpg_kv where key = 'counter'`,
				[],
			);
			await kv.increment("counter", 3600);
			const later = await driver().query<{ expires: Date }>(
				`select expires_at as expires from ${NS}.authpg_kv where key = 'counter'`,
				[],
			);
			expect(later.rows[0]?.expires.getTime()).toBe(first.rows[0]?.expires.getTime());
			await driver().query(
				`update ${NS}.authpg_kv set expires_at = now() - interval '1 second' where key = 'counter'`,
				[],
			);
			expect(await kv.increment("counter", 30)).toBe(1);
		});
	});
}
