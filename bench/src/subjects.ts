/**
 * The subjects, all in this process: the raw floor, the authpg driver
 * packages, Better Auth's built-in Postgres path and Better Auth's Drizzle
 * adapter, against the same server and database — the `@authpg/neon` ones
 * through local Neon-compatible endpoints in front of it — and
 * `@authpg/pglite` on an in-process database of its own. Each has its own
 * connections (a pool of `poolMax`, except `@authpg/node-postgres`, which is
 * one `pg.Client` by design, and PGlite, one session) and its own round-trip counter.
 */
import { fromClient as neonFromClient } from "@authpg/neon";
import { fromClient } from "@authpg/node-postgres";
import { fromClient as pgliteFromClient } from "@authpg/pglite";
import { fromPool } from "@authpg/pool";
import type { BetterAuthOptions } from "@better-auth/core";
import { drizzleAdapter } from "@better-auth/drizzle-adapter";
import { Pool as NeonPool, neon, neonConfig } from "@neondatabase/serverless";
import { betterAuth } from "better-auth";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import postgres from "postgres";
import { WebSocket } from "ws";
import { type AuthInstance, adapterTarget } from "./adapter-target.js";
import * as drizzleSchema from "./drizzle-schema.js";
import { floorTarget } from "./floor.js";
import { postgresJsFloorTarget } from "./floor-postgres-js.js";
import {
	BETTER_AUTH,
	BETTER_AUTH_JOINS,
	FLOOR,
	FLOOR_POSTGRES_JS,
	NEON_HTTP,
	NEON_WS,
	PGLITE,
	POOL_EVENTS,
	POOL_REPLICA,
	POOL_SEALED,
} from "./keys.js";
import { type NeonLocalProcess, startNeonLocalProcess } from "./neon-local.js";
import type { PgliteDatabase } from "./pglite-database.js";
import { RoundTrips } from "./round-trips.js";
import type { SqlClient } from "./seed.js";
import type { Target } from "./target.js";

/** One side of the comparison. */
export interface Subject {
	key: string;
	label: string;
	/** What the subject is, in a sentence (shown in the JSON and the README). */
	description: string;
	/** Which rate-limit storage its `rate-limit consume` exercises. */
	rateLimitStorage: string;
	target: Target;
	roundTrips: RoundTrips;
	/**
	 * Key of the raw floor of the driver this subject runs on (`floor` for pg, `floor-postgres-js` for
	 * postgres.js, itself for a floor), for its `vsOwnFloor` ratio; none where the bench has no such floor.
	 */
	ownFloor?: string;
	/**
	 * Set when the subject runs on a database of its own instead of the shared
	 * server (PGlite): setup, cleanup and VACUUM go to it, and no ratio to the
	 * floor or Better Auth is taken, since that would compare two servers.
	 */
	ownDatabase?: { admin: SqlClient };
	/** Writes the auth event log (`authpg_event`), which the operations empty after each measurement. */
	events?: boolean;
	close(): Promise<void>;
}

/** What every subject shares. */
export interface SubjectSettings {
	url: string;
	poolMax: number;
	/** Better Auth options every instance gets (the database aside). */
	options: BetterAuthOptions;
	/** The PGlite subject's own database, migrated and seeded; without it there is no PGlite subject. */
	pglite?: PgliteDatabase;
	/** A streaming replica of the bench database (its URL); without it there is no `pool-replica` subject. */
	replicaUrl?: string;
}

type Stores = ReturnType<typeof fromPool>;

/** The key store's password for `pool-sealed` (and the migration that creates its table); a bench-only value. */
export const BENCH_KEYSTORE_PASSWORD = "authpg-bench-keystore-3c9e1f7a2b5d8e04";

/** Every subject key, in run order. */
export const SUBJECT_KEYS = [
	FLOOR,
	FLOOR_POSTGRES_JS,
	"pool",
	POOL_EVENTS,
	POOL_SEALED,
	"node-postgres",
	"postgres-js",
	NEON_WS,
	NEON_HTTP,
	PGLITE,
	BETTER_AUTH,
	BETTER_AUTH_JOINS,
	"drizzle",
	POOL_REPLICA,
] as const;

/**
 * Subjects a run includes only when `--subjects` names them (or `--seal`, for `pool-sealed`):
 * `pool-replica` needs a replica of the bench database, which the default run neither has nor
 * builds; `pool-sealed` differs from `pool` only where an operation reads a sealed field, which only
 * the opt-in `findOneAccount` does. Default runs stay as they were.
 */
export const OPT_IN_SUBJECT_KEYS: readonly string[] = [POOL_REPLICA, POOL_SEALED];

/**
 * Build the subjects named in `wanted` (default: all) that can run here; a
 * subject whose package or endpoint is missing is reported, not fatal.
 */
export async function createSubjects(
	settings: SubjectSettings,
	log: (line: string) => void,
	wanted: readonly string[] = SUBJECT_KEYS.filter((key) => !OPT_IN_SUBJECT_KEYS.includes(key)),
): Promise<Subject[]> {
	const subjects: Subject[] = [];
	const want = (key: string) => wanted.includes(key);
	if (want(FLOOR)) subjects.push(await floor(settings));
	if (want(FLOOR_POSTGRES_JS)) subjects.push(await floorPostgresJs(settings));
	if (want("pool")) subjects.push(await authpgPool(settings));
	if (want(POOL_EVENTS)) subjects.push(await authpgPool(settings, { events: true }));
	if (want(POOL_SEALED)) subjects.push(await authpgPool(settings, { sealed: true }));
	if (want("node-postgres")) subjects.push(await authpgNodePostgres(settings));
	if (want("postgres-js")) {
		const postgresJs = await authpgPostgresJs(settings);
		if (typeof postgresJs === "string") log(`@authpg/postgres-js: skipped (${postgresJs})`);
		else subjects.push(postgresJs);
	}
	if (want(NEON_WS) || want(NEON_HTTP)) {
		const neonSubjects = await authpgNeon(settings, { ws: want(NEON_WS), http: want(NEON_HTTP) });
		if (typeof neonSubjects === "string") log(`@authpg/neon: skipped (${neonSubjects})`);
		else subjects.push(...neonSubjects);
	}
	if (want(PGLITE)) {
		if (settings.pglite) subjects.push(await authpgPglite(settings, settings.pglite));
		else log("@authpg/pglite: skipped (no PGlite database was prepared)");
	}
	if (want(BETTER_AUTH)) subjects.push(await betterAuthKysely(settings));
	if (want(BETTER_AUTH_JOINS)) subjects.push(await betterAuthKyselyJoins(settings));
	if (want("drizzle")) subjects.push(await betterAuthDrizzle(settings));
	if (want(POOL_REPLICA)) {
		if (settings.replicaUrl) subjects.push(await authpgPoolReplica(settings, settings.replicaUrl));
		else log(`${POOL_REPLICA}: skipped (no replica of the bench database)`);
	}
	return subjects;
}

function newPool(settings: SubjectSettings, roundTrips: RoundTrips): pg.Pool {
	const pool = new pg.Pool({ connectionString: settings.url, max: settings.poolMax });
	// An idle client that loses its connection must not crash the run.
	pool.on("error", () => {});
	roundTrips.watchPool(pool);
	return pool;
}

function auth(options: BetterAuthOptions): AuthInstance {
	return betterAuth(options) as unknown as AuthInstance;
}

async function floor(settings: SubjectSettings): Promise<Subject> {
	const roundTrips = new RoundTrips();
	const pool = newPool(settings, roundTrips);
	const { target, rateLimitStorage } = floorTarget(pool);
	// Rate limiting goes through Better Auth's own limiter with the floor's one-statement storage, so
	// it compares storages, not limiters. The instance is used for nothing else.
	const limiter = await adapterTarget(
		auth({
			...settings.options,
			database: pool,
			rateLimit: { ...settings.options.rateLimit, customStorage: rateLimitStorage },
		}),
	);
	return {
		key: FLOOR,
		label: "floor: pg, hand-written SQL",
		description:
			"Hand-written SQL per operation over a pg.Pool, one named prepared statement each; no adapter, no Better Auth (so no getSession).",
		rateLimitStorage: "one hand-written upsert (customStorage)",
		target: { ...target, rateLimit: limiter.rateLimit },
		roundTrips,
		ownFloor: FLOOR,
		close: () => pool.end(),
	};
}

/**
 * postgres.js with its own pool, configured as the `@authpg/postgres-js`
 * subject's instance is, its statements counted through the `debug` callback
 * (called once per statement sent).
 */
function newPostgresJs(settings: SubjectSettings, roundTrips: RoundTrips) {
	return postgres(settings.url, {
		max: settings.poolMax,
		// As the package's own createStores configures postgres.js: no NOTICE logging, no type fetch on connect.
		onnotice: () => {},
		fetch_types: false,
		debug: () => {
			roundTrips.count++;
		},
	});
}

async function floorPostgresJs(settings: SubjectSettings): Promise<Subject> {
	const roundTrips = new RoundTrips();
	const sql = newPostgresJs(settings, roundTrips);
	const { target, rateLimitStorage } = postgresJsFloorTarget(sql);
	// As for the pg floor: Better Auth's own limiter, with the floor's one-statement storage; the instance
	// needs a database, and its pool opens no connection unless Better Auth uses it (it would be counted).
	const pool = newPool(settings, roundTrips);
	const limiter = await adapterTarget(
		auth({
			...settings.options,
			database: pool,
			rateLimit: { ...settings.options.rateLimit, customStorage: rateLimitStorage },
		}),
	);
	return {
		key: FLOOR_POSTGRES_JS,
		label: "floor: postgres.js, hand-written SQL",
		description:
			"The pg floor's hand-written SQL as postgres.js tagged templates (prepared by postgres.js, one statement each), rows as its default parsers return them; no adapter, no Better Auth (so no getSession). @authpg/postgres-js's own floor.",
		rateLimitStorage: "one hand-written upsert (customStorage)",
		target: { ...target, rateLimit: limiter.rateLimit },
		roundTrips,
		ownFloor: FLOOR_POSTGRES_JS,
		async close() {
			await sql.end();
			await pool.end();
		},
	};
}

/**
 * Better Auth options for authpg stores: `applyTo` as an application would,
 * plus the stores' rate-limit storage when the package has one (issue 5).
 */
function authpgOptions(stores: Stores, settings: SubjectSettings): { options: BetterAuthOptions; rateLimit: string } {
	const options = stores.applyTo(settings.options) as BetterAuthOptions;
	if (options.rateLimit?.customStorage) return { options, rateLimit: "authpg rateLimitStorage (customStorage)" };
	const storage = (stores as { rateLimitStorage?: unknown }).rateLimitStorage;
	if (storage && typeof (storage as { consume?: unknown }).consume === "function") {
		options.rateLimit = { ...options.rateLimit, customStorage: storage as never };
		return { options, rateLimit: "authpg rateLimitStorage (customStorage)" };
	}
	// HOOK: until the stores have a rate-limit storage, this measures Better Auth's database storage over our adapter.
	return { options, rateLimit: "Better Auth's database storage over this adapter (no authpg rateLimitStorage yet)" };
}

/**
 * `@authpg/pool`; with `events`, the same with the auth event log on (its
 * sign-ins write their events), to measure what the log costs; with `sealed`,
 * the same with `seal: true` (the account's OAuth tokens sealed).
 */
async function authpgPool(settings: SubjectSettings, { events = false, sealed = false } = {}): Promise<Subject> {
	const roundTrips = new RoundTrips();
	const pool = newPool(settings, roundTrips);
	const stores = fromPool(pool, sealed ? { keystorePassword: BENCH_KEYSTORE_PASSWORD, seal: true } : { events });
	const { options, rateLimit } = authpgOptions(stores, settings);
	return {
		key: events ? POOL_EVENTS : sealed ? POOL_SEALED : "pool",
		label: events ? "@authpg/pool, event log on" : sealed ? "@authpg/pool, seal on" : "@authpg/pool",
		description: events
			? "fromPool(new pg.Pool(), { events: true }): the pool subject with the auth event log written (sign-ins, sessions created, rate-limit refusals)."
			: sealed
				? "fromPool(new pg.Pool(), { keystorePassword, seal: true }): the pool subject with sealed fields (account tokens and verification values sealed, token-bearing verification identifiers hashed)."
				: "fromPool(new pg.Pool()): the production default; prepared statements on.",
		rateLimitStorage: rateLimit,
		target: await adapterTarget(auth(options)),
		roundTrips,
		ownFloor: FLOOR,
		events,
		async close() {
			await stores.close();
			await pool.end();
		},
	};
}

/**
 * `@authpg/pool` with one read replica: `fromPool(pool, { replicas: [replicaPool] })`, as an
 * application owning both pools would. Built only once a marked read has landed on the replica
 * (before the first lag probe reports, reads stay on the primary) and the replica has replayed the
 * seed, so every measured read is a replica read unless the replica falls behind the 5 s bound.
 */
async function authpgPoolReplica(settings: SubjectSettings, replicaUrl: string): Promise<Subject> {
	const roundTrips = new RoundTrips();
	const pool = newPool(settings, roundTrips);
	const replica = new pg.Pool({ connectionString: replicaUrl, max: settings.poolMax });
	replica.on("error", () => {});
	roundTrips.watchPool(replica);
	const stores = fromPool(pool, { replicas: [replica] });
	await untilReplicaServes(stores, pool);
	const { options, rateLimit } = authpgOptions(stores, settings);
	return {
		key: POOL_REPLICA,
		label: "@authpg/pool + 1 replica",
		description:
			"fromPool(new pg.Pool(), { replicas: [new pg.Pool()] }): findOne/findMany/count on a streaming replica of the bench database (on the same machine), everything else on the primary.",
		rateLimitStorage: rateLimit,
		target: await adapterTarget(auth(options)),
		roundTrips,
		ownFloor: FLOOR,
		async close() {
			await stores.close();
			await Promise.all([pool.end(), replica.end()]);
		},
	};
}

/** Wait until marked reads land on the replica and it has replayed everything the primary has written. */
async function untilReplicaServes(stores: Stores, primary: pg.Pool): Promise<void> {
	const read = { read: { model: "session", single: false } };
	const deadline = Date.now() + 60_000;
	const { rows } = await primary.query<{ lsn: string }>("select pg_current_wal_insert_lsn()::text as lsn");
	for (;;) {
		const { rows: where } = await stores.driver.query<{ replica: boolean; replayed: boolean }>(
			"select pg_is_in_recovery() as replica, coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) as replayed",
			[rows[0]?.lsn],
			read,
		);
		if (where[0]?.replica && where[0].replayed) return;
		if (Date.now() > deadline) throw new Error(`${POOL_REPLICA}: reads never reached a caught-up replica`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

async function authpgNodePostgres(settings: SubjectSettings): Promise<Subject> {
	const roundTrips = new RoundTrips();
	const client = new pg.Client({ connectionString: settings.url });
	client.on("error", () => {});
	roundTrips.watchClient(client);
	await client.connect();
	const stores = fromClient(client);
	const { options, rateLimit } = authpgOptions(stores, settings);
	return {
		key: "node-postgres",
		label: "@authpg/node-postgres (one pg.Client)",
		description:
			"fromClient(new pg.Client()): ONE connection, statements queued on it — concurrent callers wait their turn.",
		rateLimitStorage: rateLimit,
		target: await adapterTarget(auth(options)),
		roundTrips,
		ownFloor: FLOOR,
		async close() {
			await stores.close();
			await client.end();
		},
	};
}

/**
 * `@authpg/postgres-js`, imported when the subject is built rather than at
 * the top, so that a package that fails to load (it is young) skips one
 * subject instead of the run.
 */
async function authpgPostgresJs(settings: SubjectSettings): Promise<Subject | string> {
	let fromClient: (sql: unknown, options?: object) => Stores;
	try {
		const module = (await import("@authpg/postgres-js")) as { fromClient?: typeof fromClient };
		if (typeof module.fromClient !== "function") return "it has no fromClient(sql) export";
		fromClient = module.fromClient;
	} catch (error) {
		return `could not load it: ${error instanceof Error ? error.message : String(error)}`;
	}
	const roundTrips = new RoundTrips();
	const sql = newPostgresJs(settings, roundTrips);
	const stores = fromClient(sql);
	const { options, rateLimit } = authpgOptions(stores, settings);
	return {
		key: "postgres-js",
		label: "@authpg/postgres-js",
		description: "fromClient(postgres()): postgres.js with its own pool; prepared statements on.",
		rateLimitStorage: rateLimit,
		target: await adapterTarget(auth(options)),
		roundTrips,
		ownFloor: FLOOR_POSTGRES_JS,
		async close() {
			await stores.close();
			await sql.end();
		},
	};
}

/**
 * `@authpg/neon` through the local Neon-compatible endpoints (a child process,
 * see neon-local.ts) in front of the shared server: `neon-ws` sends every
 * statement over the serverless driver's WebSocket `Pool`, `neon-http` sends
 * single statements over SQL-over-HTTP and transactions over the `Pool`, as
 * the package's defaults do. Both are `fromClient` over a `neon()` and a
 * `Pool` of `poolMax` created here, so their statements can be counted: every
 * `query` of the pool's clients and every `sql.query` (one HTTP request each).
 * `neonConfig` is global to the driver; only these subjects use it.
 */
async function authpgNeon(
	settings: SubjectSettings,
	which: { ws: boolean; http: boolean },
): Promise<Subject[] | string> {
	let local: NeonLocalProcess;
	try {
		local = await startNeonLocalProcess();
	} catch (error) {
		return error instanceof Error ? error.message : String(error);
	}
	Object.assign(neonConfig, local.settings);
	neonConfig.webSocketConstructor = WebSocket;
	// The endpoints outlive whichever Neon subject closes first.
	let users = (which.ws ? 1 : 0) + (which.http ? 1 : 0);
	const release = async () => {
		if (--users === 0) await local.close();
	};
	const standIn =
		"The endpoint is a local stand-in (the conformance suite's, in a child process, in front of the same server), so the figures measure the Neon serverless driver plus that proxy on this machine, not Neon's cloud.";

	const build = async (transport: "websocket" | "http"): Promise<Subject> => {
		const roundTrips = new RoundTrips();
		const pool = new NeonPool({ connectionString: settings.url, max: settings.poolMax });
		pool.on("error", () => {});
		// Neon's Pool is pg's Pool (a fork of it): same "connect" event, same client.query.
		roundTrips.watchPool(pool as unknown as pg.Pool);
		const sql = neon(settings.url);
		const query = sql.query;
		sql.query = ((...args: Parameters<typeof query>) => {
			roundTrips.count++;
			return query(...args);
		}) as typeof query;
		const stores = neonFromClient(sql, { pool, statements: transport });
		const close = async () => {
			await stores.close();
			await pool.end();
		};
		try {
			const { options, rateLimit } = authpgOptions(stores, settings);
			const target = await adapterTarget(auth(options));
			const ws = transport === "websocket";
			return {
				key: ws ? NEON_WS : NEON_HTTP,
				label: ws
					? "@authpg/neon (WebSocket, via local wsproxy)"
					: "@authpg/neon (HTTP, via local SQL-over-HTTP endpoint)",
				description: ws
					? `fromClient(neon(), { pool: new Pool(), statements: "websocket" }): every statement over @neondatabase/serverless's WebSocket Pool, through a local WebSocket-to-TCP relay. ${standIn}`
					: `fromClient(neon(), { pool: new Pool() }): single statements as SQL-over-HTTP requests (fetch), transactions over the WebSocket Pool, through a local endpoint speaking Neon's /sql protocol (a pg.Pool of 10 behind it). ${standIn}`,
				rateLimitStorage: rateLimit,
				target,
				roundTrips,
				async close() {
					try {
						await close();
					} finally {
						await release();
					}
				},
			};
		} catch (error) {
			await close().catch(() => {});
			throw error;
		}
	};
	const subjects: Subject[] = [];
	try {
		if (which.ws) subjects.push(await build("websocket"));
		if (which.http) subjects.push(await build("http"));
	} catch (error) {
		for (const subject of subjects) await subject.close().catch(() => {});
		await local.close();
		throw error;
	}
	return subjects;
}

/**
 * `@authpg/pglite` over the in-process PGlite database prepared (migrated and
 * seeded with the shared server's rows) before the subjects are built. PGlite
 * is one session: concurrent callers queue on it, as on `@authpg/node-postgres`.
 */
async function authpgPglite(settings: SubjectSettings, database: PgliteDatabase): Promise<Subject> {
	const roundTrips = new RoundTrips();
	roundTrips.watchPglite(database.pglite);
	const stores = pgliteFromClient(database.pglite);
	const { options, rateLimit } = authpgOptions(stores, settings);
	return {
		key: PGLITE,
		label: "@authpg/pglite (in-process WASM Postgres, own database)",
		description:
			"fromClient(await PGlite.create()): Postgres compiled to WASM, inside this process, one session (concurrent callers queue), on an in-memory database of its own seeded with the same rows — NOT the shared server. Ratios to the floor and Better Auth would compare two different servers, so none is given (—); the database's own work runs in this process and counts in its client CPU per call.",
		rateLimitStorage: rateLimit,
		target: await adapterTarget(auth(options)),
		roundTrips,
		ownDatabase: { admin: database.admin },
		async close() {
			await stores.close();
			await database.close();
		},
	};
}

async function betterAuthKysely(settings: SubjectSettings): Promise<Subject> {
	const roundTrips = new RoundTrips();
	const pool = newPool(settings, roundTrips);
	return {
		key: BETTER_AUTH,
		label: "Better Auth built-in (Kysely, new Pool())",
		description: "database: new Pool(): Better Auth's own Kysely adapter, default options.",
		rateLimitStorage: "Better Auth's database storage",
		target: await adapterTarget(auth({ ...settings.options, database: pool })),
		roundTrips,
		close: () => pool.end(),
	};
}

/**
 * Better Auth's Kysely path with its joins on (`advanced.database.joins`), so a
 * `findOne` with a join, and `getSession`, are one statement instead of two:
 * Better Auth at its best, beside its default.
 */
async function betterAuthKyselyJoins(settings: SubjectSettings): Promise<Subject> {
	const roundTrips = new RoundTrips();
	const pool = newPool(settings, roundTrips);
	const { advanced } = settings.options;
	return {
		key: BETTER_AUTH_JOINS,
		label: "Better Auth built-in, joins on (Kysely, new Pool())",
		description:
			"database: new Pool(), advanced: { database: { joins: true } }: Better Auth's own Kysely adapter with its native joins.",
		rateLimitStorage: "Better Auth's database storage",
		target: await adapterTarget(
			auth({
				...settings.options,
				database: pool,
				advanced: { ...advanced, database: { ...advanced?.database, joins: true } },
			}),
		),
		roundTrips,
		close: () => pool.end(),
	};
}

async function betterAuthDrizzle(settings: SubjectSettings): Promise<Subject> {
	const roundTrips = new RoundTrips();
	const pool = newPool(settings, roundTrips);
	const db = drizzle({ client: pool, schema: drizzleSchema });
	return {
		key: "drizzle",
		label: "@better-auth/drizzle-adapter",
		description:
			"drizzleAdapter(drizzle(new Pool()), { provider: 'pg' }) over drizzle-orm/node-postgres, default options.",
		rateLimitStorage: "Better Auth's database storage",
		target: await adapterTarget(
			auth({ ...settings.options, database: drizzleAdapter(db, { provider: "pg", schema: drizzleSchema }) }),
		),
		roundTrips,
		close: () => pool.end(),
	};
}
