/**
 * The data set: users with a credential account each, sessions (1 to 12 per
 * user, so a "latest 10 sessions" query sometimes hits its limit),
 * verifications and rate-limit counters. Rows go in with one multi-row
 * `insert … select from unnest(…)` per chunk, not one round trip per row.
 * The same rows (same ids, same tokens) can go into several databases at once,
 * so a subject on a database of its own reads exactly what the others read.
 */
import { generateId } from "@better-auth/core/utils/id";
import { BENCH_PASSWORD_HASH } from "./password.js";

/**
 * The untimed connection the seed, the operations' setup and the VACUUMs use:
 * a `pg.Client` for the shared server, a small wrapper for a database of its own (PGlite).
 */
export interface SqlClient {
	query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
	escapeIdentifier(name: string): string;
}

/** What the operations draw their inputs from. */
export interface DataSet {
	/** Users that own seeded sessions (lookups, lists, counts). */
	readerIds: string[];
	/** Users with no seeded sessions: `create session` writes here, and their sessions are deleted after each run. */
	writerIds: string[];
	/** The writers' emails, in the same order: `sign-in` signs them in (password `BENCH_PASSWORD`). */
	writerEmails: string[];
	/** Tokens of seeded sessions, shuffled. */
	tokens: string[];
	/** Keys of seeded `rateLimit` rows, for incrementOne. */
	counterKeys: string[];
	counts: { users: number; accounts: number; sessions: number; verifications: number; rateLimits: number };
}

const CHUNK = 5_000;
const WRITERS = 200;
const DAY = 86_400_000;

/**
 * Fill the (migrated, empty) tables of every client's database with the same
 * rows. Deterministic in shape; ids and tokens are random.
 */
export async function seed(clients: SqlClient[], users: number): Promise<DataSet> {
	const now = Date.now();
	const userIds = Array.from({ length: users }, () => generateId());
	const writerIds = userIds.slice(0, WRITERS);
	const readerIds = userIds.slice(WRITERS);
	const created = (i: number) => new Date(now - 30 * DAY + (i % 1000) * 60_000);

	await insertRows(
		clients,
		"user",
		["id", "text"],
		userIds.length,
		(i) => [
			userIds[i],
			`User ${i}`,
			`user${i}@example.com`,
			i % 3 !== 0,
			i % 4 === 0 ? `https://example.com/avatars/${i}.png` : null,
			created(i),
			created(i),
		],
		[
			["name", "text"],
			["email", "text"],
			["emailVerified", "bool"],
			["image", "text"],
			["createdAt", "timestamptz"],
			["updatedAt", "timestamptz"],
		],
	);

	await insertRows(
		clients,
		"account",
		["id", "text"],
		userIds.length,
		(i) => [
			generateId(),
			userIds[i],
			"credential",
			userIds[i],
			// Verified by the sign-in operation, with the benchmark's fast hashing (see password.ts).
			BENCH_PASSWORD_HASH,
			created(i),
			created(i),
		],
		[
			["accountId", "text"],
			["providerId", "text"],
			["userId", "text"],
			["password", "text"],
			["createdAt", "timestamptz"],
			["updatedAt", "timestamptz"],
		],
	);

	const sessionUser: string[] = [];
	for (let i = 0; i < readerIds.length; i++) for (let k = 0; k <= i % 12; k++) sessionUser.push(readerIds[i]);
	const tokens = sessionUser.map(() => generateId());
	// Far from expiry and recently updated, so getSession neither refreshes nor deletes them.
	const expiresAt = new Date(now + 7 * DAY);
	await insertRows(
		clients,
		"session",
		["id", "text"],
		sessionUser.length,
		(i) => [
			generateId(),
			expiresAt,
			tokens[i],
			new Date(now - (i % 5000) * 1000),
			new Date(now),
			`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
			sessionUser[i],
		],
		[
			["expiresAt", "timestamptz"],
			["token", "text"],
			["createdAt", "timestamptz"],
			["updatedAt", "timestamptz"],
			["ipAddress", "text"],
			["userAgent", "text"],
			["userId", "text"],
		],
	);

	const verifications = users;
	await insertRows(
		clients,
		"verification",
		["id", "text"],
		verifications,
		(i) => [generateId(), `seed:${i}`, generateId(), new Date(now + DAY), new Date(now), new Date(now)],
		[
			["identifier", "text"],
			["value", "text"],
			["expiresAt", "timestamptz"],
			["createdAt", "timestamptz"],
			["updatedAt", "timestamptz"],
		],
	);

	const counterKeys = Array.from({ length: users }, (_, i) => `counter:${i}`);
	await insertRows(
		clients,
		"rateLimit",
		["id", "text"],
		counterKeys.length,
		(i) => [generateId(), counterKeys[i], 0, now],
		[
			["key", "text"],
			["count", "int4"],
			["lastRequest", "int8"],
		],
	);

	// Autovacuum would wake at random moments and take one of the machine's cores from whichever
	// subject is running; the schedule vacuums between operations instead (untimed).
	for (const client of clients) {
		const { rows } = await client.query(
			`select c.relname as "name" from pg_catalog.pg_class c where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace`,
		);
		for (const { name } of rows) {
			await client.query(`alter table ${client.escapeIdentifier(String(name))} set (autovacuum_enabled = false)`);
		}
		await client.query("vacuum analyze");
	}
	return {
		readerIds,
		writerIds,
		writerEmails: writerIds.map((_, i) => `user${i}@example.com`),
		tokens: shuffle(tokens),
		counterKeys,
		counts: {
			users,
			accounts: users,
			sessions: tokens.length,
			verifications,
			rateLimits: counterKeys.length,
		},
	};
}

/** Insert `verification` rows the consumeOne runs will delete one by one. */
export async function insertVerifications(client: SqlClient, identifiers: string[]): Promise<void> {
	const now = new Date();
	const later = new Date(now.getTime() + DAY);
	await insertRows(
		[client],
		"verification",
		["id", "text"],
		identifiers.length,
		(i) => [generateId(), identifiers[i], generateId(), later, now, now],
		[
			["identifier", "text"],
			["value", "text"],
			["expiresAt", "timestamptz"],
			["createdAt", "timestamptz"],
			["updatedAt", "timestamptz"],
		],
	);
}

type Column = [name: string, type: string];

/**
 * Insert `count` rows, `CHUNK` per statement, each column sent as one array
 * parameter; each chunk is built once and sent to every client, so random ids are the same everywhere.
 */
async function insertRows(
	clients: SqlClient[],
	table: string,
	first: Column,
	count: number,
	row: (i: number) => unknown[],
	rest: Column[],
): Promise<void> {
	const columns = [first, ...rest];
	const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
	const texts = clients.map((client) => {
		const names = columns.map(([name]) => client.escapeIdentifier(name)).join(", ");
		return `insert into ${client.escapeIdentifier(table)} (${names}) select * from unnest(${arrays})`;
	});
	for (let start = 0; start < count; start += CHUNK) {
		const end = Math.min(count, start + CHUNK);
		const values: unknown[][] = columns.map(() => []);
		for (let i = start; i < end; i++) {
			const cells = row(i);
			for (let c = 0; c < columns.length; c++) values[c].push(cells[c]);
		}
		for (let k = 0; k < clients.length; k++) await clients[k].query(texts[k], values);
	}
}

/** Fisher–Yates with a fixed seed: every run visits rows in the same order. */
function shuffle<T>(items: T[]): T[] {
	const out = [...items];
	let state = 0x2545f491;
	for (let i = out.length - 1; i > 0; i--) {
		state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
		const j = state % (i + 1);
		[out[i], out[j]] = [out[j], out[i]];
	}
	return out;
}
