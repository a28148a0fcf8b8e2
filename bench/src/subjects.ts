/**
 * The subjects, all in this process against the same server and database:
 * the raw floor, the authpg driver packages, Better Auth's built-in Postgres
 * path and Better Auth's Drizzle adapter. Each has its own connections (a
 * pool of `poolMax`, except `@authpg/node-postgres`, which is one `pg.Client`
 * by design) and its own round-trip counter.
 */
import { fromClient } from "@authpg/node-postgres";
import { fromPool } from "@authpg/pool";
import type { BetterAuthOptions } from "@better-auth/core";
import { drizzleAdapter } from "@better-auth/drizzle-adapter";
import { betterAuth } from "better-auth";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { type AuthInstance, adapterTarget } from "./adapter-target.js";
import * as drizzleSchema from "./drizzle-schema.js";
import { floorTarget } from "./floor.js";
import { BETTER_AUTH, FLOOR } from "./keys.js";
import { RoundTrips } from "./round-trips.js";
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
	close(): Promise<void>;
}

/** What every subject shares. */
export interface SubjectSettings {
	url: string;
	poolMax: number;
	/** Better Auth options every instance gets (the database aside). */
	options: BetterAuthOptions;
}

type Stores = ReturnType<typeof fromPool>;

/** Build every subject that can run here; a subject whose package is missing is reported, not fatal. */
export async function createSubjects(settings: SubjectSettings, log: (line: string) => void): Promise<Subject[]> {
	const subjects: Subject[] = [];
	subjects.push(await floor(settings));
	subjects.push(await authpgPool(settings));
	subjects.push(await authpgNodePostgres(settings));
	const postgresJs = await authpgPostgresJs(settings);
	if (typeof postgresJs === "string") log(`@authpg/postgres-js: skipped (${postgresJs})`);
	else subjects.push(postgresJs);
	subjects.push(await betterAuthKysely(settings));
	subjects.push(await betterAuthDrizzle(settings));
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
		close: () => pool.end(),
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

async function authpgPool(settings: SubjectSettings): Promise<Subject> {
	const roundTrips = new RoundTrips();
	const pool = newPool(settings, roundTrips);
	const stores = fromPool(pool);
	const { options, rateLimit } = authpgOptions(stores, settings);
	return {
		key: "pool",
		label: "@authpg/pool",
		description: "fromPool(new pg.Pool()): the production default; prepared statements on.",
		rateLimitStorage: rateLimit,
		target: await adapterTarget(auth(options)),
		roundTrips,
		async close() {
			await stores.close();
			await pool.end();
		},
	};
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
		async close() {
			await stores.close();
			await client.end();
		},
	};
}

/**
 * `@authpg/postgres-js`, imported when the subject is built rather than at
 * the top, so that a package that fails to load (it is young) skips one
 * subject instead of the run. Its statements are counted through postgres.js's
 * `debug` callback, which fires once per query sent.
 */
async function authpgPostgresJs(settings: SubjectSettings): Promise<Subject | string> {
	let fromClient: (sql: unknown, options?: object) => Stores;
	let postgres: (url: string, options: object) => { end(): Promise<void> };
	try {
		const module = (await import("@authpg/postgres-js")) as { fromClient?: typeof fromClient };
		if (typeof module.fromClient !== "function") return "it has no fromClient(sql) export";
		fromClient = module.fromClient;
		postgres = (await import("postgres")).default as unknown as typeof postgres;
	} catch (error) {
		return `could not load it: ${error instanceof Error ? error.message : String(error)}`;
	}
	const roundTrips = new RoundTrips();
	const sql = postgres(settings.url, {
		max: settings.poolMax,
		// As the package's own createStores configures postgres.js.
		onnotice: () => {},
		fetch_types: false,
		debug: () => {
			roundTrips.count++;
		},
	});
	const stores = fromClient(sql);
	const { options, rateLimit } = authpgOptions(stores, settings);
	return {
		key: "postgres-js",
		label: "@authpg/postgres-js",
		description: "fromClient(postgres()): postgres.js with its own pool; prepared statements on.",
		rateLimitStorage: rateLimit,
		target: await adapterTarget(auth(options)),
		roundTrips,
		async close() {
			await stores.close();
			await sql.end();
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
