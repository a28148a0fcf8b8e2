/**
 * The raw floor: what each operation costs as hand-written SQL over `pg`,
 * one named (server-side prepared) statement per operation, rows as pg
 * returns them (only the join's user is nested, as the adapters return it).
 * It knows the schema, so it may use what the schema guarantees (`rateLimit.key`
 * is unique) where an adapter must not assume it.
 */
import { generateId } from "@better-auth/core/utils/id";
import type pg from "pg";
import type { Target } from "./target.js";

const SESSION = `"id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId"`;
const USER = ["id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt"];

const statements = {
	byToken: `select ${SESSION} from "session" where "token" = $1 limit 1`,
	withUser: `select ${SESSION.split(", ")
		.map((c) => `s.${c}`)
		.join(", ")}, ${USER.map((c) => `u."${c}" as "user.${c}"`).join(", ")}
		from "session" s join "user" u on u."id" = s."userId" where s."token" = $1 limit 1`,
	create: `insert into "session" (${SESSION}) values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${SESSION}`,
	update: `update "session" set "expiresAt" = $2, "updatedAt" = $3 where "token" = $1 returning ${SESSION}`,
	list: `select ${SESSION} from "session" where "userId" = $1 order by "createdAt" desc limit 10`,
	count: `select count(*) as "count" from "session" where "userId" = $1`,
	// identifier is not unique: delete exactly one matching row, locked so two callers never both get it.
	consume: `delete from "verification" where "id" = (select "id" from "verification" where "identifier" = $1 limit 1 for update)
		returning "id", "identifier", "value", "expiresAt", "createdAt", "updatedAt"`,
	increment: `update "rateLimit" set "count" = "count" + 1, "lastRequest" = $2 where "key" = $1
		returning "id", "key", "count", "lastRequest"`,
	// One atomic upsert: a new key starts at 1; an expired window restarts at 1; below max counts up;
	// at max nothing changes. "lastRequest" = now afterwards means the request was allowed (a denial in
	// the very millisecond of the last allowance would read as allowed; this benchmark never reaches max).
	rateLimit: `insert into "rateLimit" as r ("id", "key", "count", "lastRequest") values ($1, $2, 1, $3)
		on conflict ("key") do update set
			"count" = case when r."lastRequest" <= $3 - $4 then 1 when r."count" < $5 then r."count" + 1 else r."count" end,
			"lastRequest" = case when r."lastRequest" <= $3 - $4 or r."count" < $5 then $3 else r."lastRequest" end
		returning "lastRequest"`,
};

type Name = keyof typeof statements;

/** The floor's rate-limit storage, in Better Auth's `rateLimit.customStorage` shape. */
export interface FloorRateLimitStorage {
	consume(key: string, rule: { window: number; max: number }): Promise<{ allowed: boolean; retryAfter: number | null }>;
}

/** The floor over `pool`; `rateLimit` is filled in by the caller (it needs a Better Auth context). */
export function floorTarget(pool: pg.Pool): {
	target: Omit<Target, "rateLimit">;
	rateLimitStorage: FloorRateLimitStorage;
} {
	const run = async <R extends pg.QueryResultRow>(name: Name, values: unknown[]): Promise<R[]> =>
		(await pool.query<R>({ name: `floor_${name}`, text: statements[name], values })).rows;
	const one = async <R extends pg.QueryResultRow>(name: Name, values: unknown[]): Promise<R | null> =>
		(await run<R>(name, values))[0] ?? null;

	return {
		target: {
			findSessionByToken: (token) => one("byToken", [token]),
			async findSessionWithUser(token) {
				const row = await one<Record<string, unknown>>("withUser", [token]);
				if (!row) return null;
				const session: Record<string, unknown> = {};
				const user: Record<string, unknown> = {};
				for (const key in row) {
					if (key.startsWith("user.")) user[key.slice(5)] = row[key];
					else session[key] = row[key];
				}
				session.user = user;
				return session;
			},
			createSession: (userId, token, expiresAt) => {
				const now = new Date();
				return one("create", [generateId(), expiresAt, token, now, now, "10.0.0.1", "authpg-bench", userId]);
			},
			updateSession: (token, expiresAt) => one("update", [token, expiresAt, new Date()]),
			listSessions: (userId) => run("list", [userId]),
			countSessions: async (userId) => Number((await one<{ count: string }>("count", [userId]))?.count),
			consumeVerification: (identifier) => one("consume", [identifier]),
			incrementCounter: (key, now) => one("increment", [key, now]),
		},
		rateLimitStorage: {
			async consume(key, rule) {
				const now = Date.now();
				const windowMs = rule.window * 1000;
				const row = await one<{ lastRequest: string }>("rateLimit", [generateId(), key, now, windowMs, rule.max]);
				const last = Number(row?.lastRequest);
				if (last === now) return { allowed: true, retryAfter: null };
				return { allowed: false, retryAfter: Math.max(0, Math.ceil((last + windowMs - now) / 1000)) };
			},
		},
	};
}
