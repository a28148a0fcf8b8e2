/**
 * The server the benchmark runs on: an embedded PostgreSQL from npm (the same
 * provisioning the tests use), or the server `AUTHPG_BENCH_DATABASE_URL`
 * names. Either way the benchmark works in a fresh database of its own and
 * drops it at the end, so it never touches existing data.
 */
import { type ReplicatedServer, startReplicatedServer, startTestDatabase } from "@authpg/conformance";
import pg from "pg";

/** A fresh database for one benchmark run. */
export interface BenchDatabase {
	url: string;
	/** `"embedded"` or `"env"` (`AUTHPG_BENCH_DATABASE_URL`). */
	source: string;
	/** `select version()` of the server. */
	serverVersion: string;
	/** A streaming replica of this database, when one was asked for and could be had. */
	replicaUrl?: string;
	/** Why there is no replica, when one was asked for. */
	noReplica?: string;
	close(): Promise<void>;
}

/** Options of {@link openBenchDatabase}. */
export interface BenchDatabaseOptions {
	/**
	 * Also give the database a streaming replica: the one `AUTHPG_BENCH_REPLICA_URL` names (a replica
	 * of the server `AUTHPG_BENCH_DATABASE_URL` names), else, on the embedded server, one built by the
	 * test harness (an embedded primary with a streaming replica, both on this machine).
	 */
	replica?: boolean;
}

/** Start (or connect to) the server and create the benchmark's database on it. */
export async function openBenchDatabase(options: BenchDatabaseOptions = {}): Promise<BenchDatabase> {
	const given = process.env.AUTHPG_BENCH_DATABASE_URL?.trim();
	const givenReplica = process.env.AUTHPG_BENCH_REPLICA_URL?.trim();
	if (givenReplica && !given) {
		throw new Error(
			"AUTHPG_BENCH_REPLICA_URL names a replica, but AUTHPG_BENCH_DATABASE_URL names no primary: set both, or neither (the bench then builds its own replica).",
		);
	}
	// The test variables must not leak in: without AUTHPG_BENCH_DATABASE_URL the benchmark always
	// starts its own embedded server (never Docker), so runs on one machine compare like with like.
	delete process.env.DATABASE_URL;
	if (given) process.env.AUTHPG_TEST_DATABASE_URL = given;
	else delete process.env.AUTHPG_TEST_DATABASE_URL;
	process.env.AUTHPG_TEST_DOCKER = "0";
	// The bench's own replica needs a primary whose files it can copy: an embedded one it starts itself,
	// with the same settings as the server it would otherwise start.
	let replicated: ReplicatedServer | undefined;
	if (options.replica && !given) replicated = await startReplicatedServer();
	let db: Awaited<ReturnType<typeof startTestDatabase>> | undefined;
	const close = async () => {
		try {
			await db?.close();
		} finally {
			await replicated?.stop();
		}
	};
	try {
		db = await startTestDatabase({ prefix: "bench", adminUrl: replicated?.primary.adminUrl });
		const name = new URL(db.url).pathname.slice(1);
		let replicaUrl: string | undefined;
		let noReplica: string | undefined;
		if (replicated) replicaUrl = replicated.replica.urlFor(decodeURIComponent(name));
		else if (givenReplica) {
			// A database created on the primary exists on its streaming replicas too, under the same name.
			const url = new URL(givenReplica);
			url.pathname = `/${name}`;
			replicaUrl = url.toString();
		} else if (options.replica) {
			noReplica = "AUTHPG_BENCH_DATABASE_URL is set without AUTHPG_BENCH_REPLICA_URL";
		}
		const client = new pg.Client({ connectionString: db.url });
		await client.connect();
		try {
			const { rows } = await client.query<{ version: string }>("select version()");
			return { url: db.url, source: db.source, serverVersion: rows[0].version, replicaUrl, noReplica, close };
		} finally {
			await client.end();
		}
	} catch (error) {
		await close().catch(() => {});
		throw error;
	}
}
