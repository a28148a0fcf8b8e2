/**
 * Better Auth's `secondaryStorage` in an UNLOGGED Postgres table: a cache by
 * contract, so it skips the write-ahead log. Expired keys read as absent and
 * are deleted lazily (on read by getAndDelete, and in the background every
 * so many writes). Each operation is one statement; getAndDelete and
 * increment are atomic.
 */
import { sql } from "kysely";
import { compiler, statementName } from "../compiler.js";
import type { Driver } from "../driver/contract.js";
import { toQueryError } from "../errors.js";
import { KV_TABLE, STORE_MARK } from "./tables.js";

/** Options of {@link secondaryStorage}. */
export interface SecondaryStorageOptions {
	/** Postgres schema holding `authpg_kv`. Default `public`. */
	schema?: string;
	/** Delete expired keys every this many writes, in the background. Default 1000. */
	cleanupEvery?: number;
}

/** Better Auth's `SecondaryStorage`. */
export interface PostgresSecondaryStorage {
	get(key: string): Promise<string | null>;
	set(key: string, value: string, ttl?: number): Promise<void>;
	delete(key: string): Promise<void>;
	getAndDelete(key: string): Promise<string | null>;
	increment(key: string, ttl: number): Promise<number>;
}

const live = sql`("expires_at" is null or "expires_at" > statement_timestamp())`;
const expiry = (ttl: ReturnType<typeof sql>) =>
	sql`case when ${ttl} > 0 then statement_timestamp() + ${ttl} * interval '1 second' end`;

/** A secondary storage in `authpg_kv` (created by the migration planner). */
export function secondaryStorage(driver: Driver, options: SecondaryStorageOptions = {}): PostgresSecondaryStorage {
	const t = sql.id(options.schema ?? "public", KV_TABLE);
	const ttl = sql`$3::double precision`;
	const statement = (query: ReturnType<typeof sql>) => {
		const text = query.compile(compiler).sql;
		return { text, name: statementName(text) };
	};
	const get = statement(sql`select "value" from ${t} where "key" = $1 and ${live}`);
	const set = statement(sql`insert into ${t} as kv ("key", "value", "expires_at") values ($1, $2, ${expiry(ttl)})
		on conflict ("key") do update set "value" = excluded."value", "expires_at" = excluded."expires_at"`);
	const del = statement(sql`delete from ${t} where "key" = $1`);
	const getAndDelete = statement(sql`delete from ${t} where "key" = $1 returning "value", ${live} as "live"`);
	// The ttl applies when the key is created (or re-created after it expired), never on later increments.
	const increment =
		statement(sql`insert into ${t} as kv ("key", "value", "expires_at") values ($1, '1', ${expiry(sql`$2::double precision`)})
		on conflict ("key") do update set
			"value" = case when kv."expires_at" <= statement_timestamp() then '1' else (kv."value"::bigint + 1)::text end,
			"expires_at" = case when kv."expires_at" <= statement_timestamp() then excluded."expires_at" else kv."expires_at" end
		returning "value"`);
	const cleanup =
		sql`delete from ${t} where "key" in (select "key" from ${t} where "expires_at" <= statement_timestamp() limit 1000)`.compile(
			compiler,
		).sql;
	const every = Math.max(1, options.cleanupEvery ?? 1000);
	let writes = 0;
	const run = async <R>(op: string, s: { text: string; name: string }, params: unknown[]) => {
		try {
			return (await driver.query<R>(s.text, params, { name: s.name })).rows;
		} catch (error) {
			throw toQueryError(`secondary storage ${op}`, KV_TABLE, error);
		}
	};
	const wrote = () => {
		if (++writes % every === 0) driver.query(cleanup, []).catch(() => {});
	};

	return {
		[STORE_MARK]: "secondaryStorage",
		async get(key) {
			const rows = await run<{ value: string }>("get", get, [key]);
			return rows[0]?.value ?? null;
		},
		async set(key, value, seconds) {
			wrote();
			await run("set", set, [key, value, seconds ?? 0]);
		},
		async delete(key) {
			await run("delete", del, [key]);
		},
		async getAndDelete(key) {
			const rows = await run<{ value: string; live: boolean }>("getAndDelete", getAndDelete, [key]);
			return rows[0]?.live ? rows[0].value : null;
		},
		async increment(key, seconds) {
			wrote();
			const rows = await run<{ value: string }>("increment", increment, [key, seconds]);
			return Number(rows[0]!.value);
		},
	} as PostgresSecondaryStorage;
}
