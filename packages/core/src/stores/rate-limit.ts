/**
 * Better Auth's `rateLimit.customStorage` as one atomic statement: an upsert
 * that decides and records in the same row lock, so concurrent requests
 * cannot all pass a stale read. Semantics are Better Auth's own (its memory
 * and database storages): a window counts from the last allowed request; a
 * request after the window resets the count to 1; a refused request leaves
 * the row as it was and reports the seconds until the window frees up.
 * Time is the database's, so app servers with skewed clocks agree. A
 * statement that waited for the row lock carries an earlier statement time
 * than the one it waited for: `last_request` never moves back, and
 * `retryAfter` never exceeds the window.
 */
import { sql } from "kysely";
import { compiler, statementName } from "../compiler.js";
import type { Driver } from "../driver/contract.js";
import { toQueryError } from "../errors.js";
import { RATE_LIMIT_TABLE, STORE_MARK } from "./tables.js";

/** Options of {@link rateLimitStorage}. */
export interface RateLimitStorageOptions {
	/** Postgres schema holding `authpg_rate_limit`. Default `public`. */
	schema?: string;
	/** Delete expired rows every this many calls, in the background. Default 1000. */
	cleanupEvery?: number;
}

/** Better Auth's `BetterAuthRateLimitStorage`. */
export interface RateLimitStorage {
	consume(key: string, rule: { window: number; max: number }): Promise<{ allowed: boolean; retryAfter: number | null }>;
}

const NOW_MS = sql`(extract(epoch from statement_timestamp()) * 1000)::bigint`;

/** A rate-limit store in `authpg_rate_limit` (created by the migration planner). */
export function rateLimitStorage(driver: Driver, options: RateLimitStorageOptions = {}): RateLimitStorage {
	const table = sql.id(options.schema ?? "public", RATE_LIMIT_TABLE);
	const key = sql`$1::text`;
	const windowMs = sql`$2::bigint`;
	const max = sql`$3::integer`;
	const reset = sql`${NOW_MS} - r."last_request" >= ${windowMs}`;
	const allowed = sql`(${reset} or r."count" < ${max})`;
	const consume = sql`insert into ${table} as r ("key", "count", "last_request", "allowed", "expires_at")
		values (${key}, 1, ${NOW_MS}, true, statement_timestamp() + ${windowMs} * interval '1 millisecond')
		on conflict ("key") do update set
			"allowed" = ${allowed},
			"count" = case when ${reset} then 1 when r."count" < ${max} then r."count" + 1 else r."count" end,
			"last_request" = case when ${allowed} then greatest(${NOW_MS}, r."last_request") else r."last_request" end,
			"expires_at" = case when ${allowed} then statement_timestamp() + ${windowMs} * interval '1 millisecond' else r."expires_at" end
		returning "allowed",
			case when "allowed" then null
				else least(ceil(("last_request" + ${windowMs} - ${NOW_MS}) / 1000.0), ceil(${windowMs} / 1000.0))::integer end as "retryAfter"`.compile(
		compiler,
	).sql;
	const name = statementName(consume);
	const cleanup =
		sql`delete from ${table} where "key" in (select "key" from ${table} where "expires_at" < statement_timestamp() limit 1000)`.compile(
			compiler,
		).sql;
	const every = Math.max(1, options.cleanupEvery ?? 1000);
	let calls = 0;

	return {
		[STORE_MARK]: "rateLimit",
		async consume(id, rule) {
			if (++calls % every === 0) {
				// Expired rows go in the background, without a cron; a failure only delays it.
				driver.query(cleanup, []).catch(() => {});
			}
			try {
				const { rows } = await driver.query<{ allowed: boolean; retryAfter: number | null }>(
					consume,
					[id, Math.round(rule.window * 1000), rule.max],
					{ name },
				);
				const row = rows[0]!;
				return { allowed: row.allowed, retryAfter: row.allowed ? null : Math.max(0, Number(row.retryAfter)) };
			} catch (error) {
				throw toQueryError("rate-limit consume", RATE_LIMIT_TABLE, error);
			}
		},
	} as RateLimitStorage;
}
