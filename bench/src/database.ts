/**
 * The server the benchmark runs on: an embedded PostgreSQL from npm (the same
 * provisioning the tests use), or the server `AUTHPG_BENCH_DATABASE_URL`
 * names. Either way the benchmark works in a fresh database of its own and
 * drops it at the end, so it never touches existing data.
 */
import { startTestDatabase } from "@authpg/conformance";
import pg from "pg";

/** A fresh database for one benchmark run. */
export interface BenchDatabase {
	url: string;
	/** `"embedded"` or `"env"` (`AUTHPG_BENCH_DATABASE_URL`). */
	source: string;
	/** `select version()` of the server. */
	serverVersion: string;
	close(): Promise<void>;
}

/** Start (or connect to) the server and create the benchmark's database on it. */
export async function openBenchDatabase(): Promise<BenchDatabase> {
	const given = process.env.AUTHPG_BENCH_DATABASE_URL?.trim();
	// The test variables must not leak in: without AUTHPG_BENCH_DATABASE_URL the benchmark always
	// starts its own embedded server (never Docker), so runs on one machine compare like with like.
	delete process.env.DATABASE_URL;
	if (given) process.env.AUTHPG_TEST_DATABASE_URL = given;
	else delete process.env.AUTHPG_TEST_DATABASE_URL;
	process.env.AUTHPG_TEST_DOCKER = "0";
	const db = await startTestDatabase({ prefix: "bench" });
	try {
		const client = new pg.Client({ connectionString: db.url });
		await client.connect();
		try {
			const { rows } = await client.query<{ version: string }>("select version()");
			return { url: db.url, source: db.source, serverVersion: rows[0].version, close: () => db.close() };
		} finally {
			await client.end();
		}
	} catch (error) {
		await db.close().catch(() => {});
		throw error;
	}
}
