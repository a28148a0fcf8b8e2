/**
 * The postgres.js floor: the same hand-written SQL as the pg floor
 * (`floor.ts`), as postgres.js is meant to be used: tagged templates, which
 * postgres.js prepares (a named statement per text on each connection) and
 * whose parsed shape it caches per call site, and rows as its default parsers
 * return them. `@authpg/postgres-js` is measured against this, so the ratio
 * says what the adapter costs on top of the driver it runs on.
 */
import { generateId } from "@better-auth/core/utils/id";
import type { Sql } from "postgres";
import type { FloorRateLimitStorage } from "./floor.js";
import type { Target } from "./target.js";

type Row = Record<string, unknown>;

/** The postgres.js floor over `sql`; `rateLimit` is filled in by the caller, as for the pg floor. */
export function postgresJsFloorTarget(sql: Sql<Record<string, never>>): {
	target: Omit<Target, "rateLimit">;
	rateLimitStorage: FloorRateLimitStorage;
} {
	const first = (rows: readonly Row[]): Row | null => rows[0] ?? null;
	return {
		target: {
			findSessionByToken: async (token) =>
				first(
					await sql`select "id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId"
						from "session" where "token" = ${token} limit 1`,
				),
			async findSessionWithUser(token) {
				const row = first(
					await sql`select s."id", s."expiresAt", s."token", s."createdAt", s."updatedAt", s."ipAddress",
						s."userAgent", s."userId", u."id" as "user.id", u."name" as "user.name", u."email" as "user.email",
						u."emailVerified" as "user.emailVerified", u."image" as "user.image",
						u."createdAt" as "user.createdAt", u."updatedAt" as "user.updatedAt"
						from "session" s join "user" u on u."id" = s."userId" where s."token" = ${token} limit 1`,
				);
				if (!row) return null;
				const session: Row = {};
				const user: Row = {};
				for (const key in row) {
					if (key.startsWith("user.")) user[key.slice(5)] = row[key];
					else session[key] = row[key];
				}
				session.user = user;
				return session;
			},
			async createSession(userId, token, expiresAt) {
				const now = new Date();
				return first(
					await sql`insert into "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId")
						values (${generateId()}, ${expiresAt}, ${token}, ${now}, ${now}, ${"10.0.0.1"}, ${"authpg-bench"}, ${userId})
						returning "id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId"`,
				);
			},
			updateSession: async (token, expiresAt) =>
				first(
					await sql`update "session" set "expiresAt" = ${expiresAt}, "updatedAt" = ${new Date()} where "token" = ${token}
						returning "id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId"`,
				),
			listSessions: async (userId) =>
				(await sql`select "id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId"
					from "session" where "userId" = ${userId} order by "createdAt" desc limit 10`) as unknown as Row[],
			countSessions: async (userId) =>
				Number(first(await sql`select count(*) as "count" from "session" where "userId" = ${userId}`)?.count),
			// identifier is not unique: delete exactly one matching row, locked so two callers never both get it.
			consumeVerification: async (identifier) =>
				first(
					await sql`delete from "verification" where "id" = (
							select "id" from "verification" where "identifier" = ${identifier} limit 1 for update)
						returning "id", "identifier", "value", "expiresAt", "createdAt", "updatedAt"`,
				),
			incrementCounter: async (key, now) =>
				first(
					await sql`update "rateLimit" set "count" = "count" + 1, "lastRequest" = ${now} where "key" = ${key}
						returning "id", "key", "count", "lastRequest"`,
				),
		},
		rateLimitStorage: {
			// The pg floor's one atomic upsert (see floor.ts for what it decides).
			async consume(key, rule) {
				const now = Date.now();
				const windowMs = rule.window * 1000;
				// The window's start computed here rather than as `$now - $window`, which would leave both untyped.
				const opened = now - windowMs;
				const row = first(
					await sql`insert into "rateLimit" as r ("id", "key", "count", "lastRequest") values (${generateId()}, ${key}, 1, ${now})
						on conflict ("key") do update set
							"count" = case when r."lastRequest" <= ${opened} then 1 when r."count" < ${rule.max} then r."count" + 1 else r."count" end,
							"lastRequest" = case when r."lastRequest" <= ${opened} or r."count" < ${rule.max} then ${now} else r."lastRequest" end
						returning "lastRequest"`,
				);
				const last = Number(row?.lastRequest);
				if (last === now) return { allowed: true, retryAfter: null };
				return { allowed: false, retryAfter: Math.max(0, Math.ceil((last + windowMs - now) / 1000)) };
			},
		},
	};
}
