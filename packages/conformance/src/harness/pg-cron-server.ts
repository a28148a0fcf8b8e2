/**
 * A throwaway PostgreSQL cluster with pg_cron loaded, for the tests of `authpg prune --schedule`.
 * pg_cron must be in `shared_preload_libraries` and bound to one database (`cron.database_name`),
 * which no shared test server can be reconfigured for; so this runs its own: `initdb` into a temp
 * directory with the system's binaries (Debian: `/usr/lib/postgresql/<v>/bin`, pg_cron from
 * `postgresql-<v>-cron`, installed by `.ci/run`), trust auth, on a free 127.0.0.1 port, no Unix
 * socket. {@link PgCronServer.close} stops it and removes the directory.
 *
 * ```ts
 * const found = await findPgCronServer();
 * if (found.found) {
 *   const server = await startPgCronServer({ database: "app" });
 *   // server.url: the database pg_cron is bound to; `create extension pg_cron` works there.
 * }
 * ```
 *
 * @module
 */
import { execFile } from "node:child_process";
import { chmod, chown, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import pg from "pg";
import { debugLog, describeError } from "./database-server.js";
import { accessible, freePort, passwdEntry, spawnServer } from "./processes.js";
import { FAST_INITDB_FLAGS, FAST_SERVER_SETTINGS, LOOPBACK_SERVER_SETTINGS, serverFlags } from "./server-flags.js";

/** Where PostgreSQL binaries with pg_cron are, or why there are none. */
export type PgCronServerLookup =
	| {
			found: true;
			/** Directory holding `initdb` and `postgres`. */
			binDir: string;
			/** `pg_config --version`, e.g. `PostgreSQL 15.14 (Debian 15.14-0+deb12u1)`. */
			version: string;
	  }
	| { found: false; reason: string };

/** A running PostgreSQL cluster with pg_cron preloaded. */
export interface PgCronServer {
	/** The loopback port it listens on. */
	readonly port: number;
	/** The database pg_cron is bound to (`cron.database_name`); it exists, the extension is not created. */
	readonly database: string;
	/** Superuser (`postgres`, trust auth) connection string for {@link PgCronServer.database}. */
	readonly url: string;
	/** The same for the `postgres` maintenance database. */
	readonly adminUrl: string;
	/** Stop the server and remove its data directory. Safe to call more than once. */
	close(): Promise<void>;
}

/** Options for {@link startPgCronServer}. */
export interface StartPgCronServerOptions {
	/** Database to create and bind pg_cron to (`cron.database_name`). Default `authpg_cron`. */
	database?: string;
	/** Directory with `initdb` and `postgres`; default: what {@link findPgCronServer} finds. */
	binDir?: string;
}

const SUPERUSER = "postgres";
const START_ATTEMPTS = 5;
const INITDB_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 30_000;
// SIGQUIT (also when the test run dies without closing) is immediate shutdown: the postmaster takes its backends down with it.
const SHUTDOWN = { signal: "SIGINT", force: "SIGQUIT", stopTimeoutMs: 10_000 } as const;

/**
 * Find PostgreSQL binaries whose installation has pg_cron: `AUTHPG_PG_BINDIR` if set, else each
 * `/usr/lib/postgresql/<version>/bin` (newest first), else the directory of `pg_config` on `PATH`.
 * As root there must be a `postgres` user to run the server as (PostgreSQL refuses root).
 */
export async function findPgCronServer(): Promise<PgCronServerLookup> {
	const configured = process.env.AUTHPG_PG_BINDIR?.trim();
	const candidates = configured ? [configured] : await candidateBinDirs();
	const seen: string[] = [];
	let found: { binDir: string; version: string } | undefined;
	for (const binDir of candidates) {
		const tools = await Promise.all(
			["initdb", "postgres", "pg_config"].map((tool) => accessible(join(binDir, tool), true)),
		);
		if (!tools.every(Boolean)) continue;
		let lib: string;
		let share: string;
		let version: string;
		try {
			[lib, share, version] = (
				await run(join(binDir, "pg_config"), ["--pkglibdir", "--sharedir", "--version"], {}, 10_000)
			)
				.trim()
				.split("\n")
				.map((line) => line.trim()) as [string, string, string];
		} catch (error) {
			debugLog(`pg_config in ${binDir} failed: ${describeError(error)}`);
			continue;
		}
		const hasCron =
			(await accessible(join(lib, "pg_cron.so"))) && (await accessible(join(share, "extension", "pg_cron.control")));
		if (hasCron) {
			found = { binDir, version };
			break;
		}
		seen.push(`${version} in ${binDir}`);
	}
	if (!found) {
		const major = /PostgreSQL (\d+)/.exec(seen[0] ?? "")?.[1] ?? "<version>";
		return {
			found: false,
			reason: configured
				? `AUTHPG_PG_BINDIR=${configured} has no initdb, postgres and pg_config with pg_cron installed`
				: seen.length > 0
					? `no pg_cron for ${seen.join(", ")} (install it: apt-get install -y postgresql-${major}-cron; .ci/run does)`
					: "no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin or next to pg_config on PATH",
		};
	}
	if (process.getuid?.() === 0 && !(await passwdEntry(SUPERUSER))) {
		return {
			found: false,
			reason: `running as root, and there is no "${SUPERUSER}" user to run PostgreSQL as (it refuses to run as root)`,
		};
	}
	return { found: true, ...found };
}

/**
 * `initdb` a new cluster in a temp directory and start it with pg_cron preloaded and bound to
 * `database` (created here; `create extension pg_cron` is left to the caller). As root, the
 * cluster and server run as the `postgres` user. Superuser `postgres`, trust auth, 127.0.0.1 only.
 */
export async function startPgCronServer(options: StartPgCronServerOptions = {}): Promise<PgCronServer> {
	let binDir = options.binDir;
	if (!binDir) {
		const found = await findPgCronServer();
		if (!found.found) throw new Error(`PostgreSQL with pg_cron is not available: ${found.reason}`);
		binDir = found.binDir;
	}
	const database = options.database ?? "authpg_cron";
	// Postgres refuses root: as root, every file and process belongs to the postgres user instead.
	let owner: { uid: number; gid: number } | undefined;
	if (process.getuid?.() === 0) {
		owner = await passwdEntry(SUPERUSER);
		if (!owner) throw new Error(`running as root, and there is no "${SUPERUSER}" user to run PostgreSQL as`);
	}

	const dir = await mkdtemp(join(tmpdir(), "authpg-pgcron-"));
	try {
		await chmod(dir, 0o700);
		if (owner) await chown(dir, owner.uid, owner.gid);
		const data = join(dir, "data");
		await run(
			join(binDir, "initdb"),
			["-D", data, "-U", SUPERUSER, "--auth=trust", ...FAST_INITDB_FLAGS],
			{ ...owner, cwd: dir },
			INITDB_TIMEOUT_MS,
		);
		for (let attempt = 1; ; attempt++) {
			const port = await freePort();
			// SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every client); SIGQUIT if that hangs.
			const server = spawnServer(
				"pg_cron server",
				join(binDir, "postgres"),
				[
					"-D",
					data,
					"-p",
					String(port),
					...serverFlags({
						...LOOPBACK_SERVER_SETTINGS,
						shared_preload_libraries: "pg_cron",
						"cron.database_name": database,
						// pg_cron's jobs log in over TCP; "localhost" may resolve to ::1, where nothing listens.
						"cron.host": "127.0.0.1",
						...FAST_SERVER_SETTINGS,
					}),
				],
				{ ...owner, cwd: dir },
				SHUTDOWN,
			);
			const adminUrl = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
			const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
			if (!(await waitForServer(adminUrl, READY_TIMEOUT_MS, server.gone))) {
				await server.stop();
				const text = server.output();
				if (/Address already in use|could not bind/i.test(text) && attempt < START_ATTEMPTS) continue;
				throw new Error(`PostgreSQL (${binDir}) did not start on 127.0.0.1:${port}:\n${text || "(no output)"}`);
			}
			try {
				// pg_cron's launcher retries its connection, so the database may appear after startup.
				await withClient(adminUrl, (client) => client.query(`create database ${client.escapeIdentifier(database)}`));
			} catch (error) {
				await server.stop();
				throw error;
			}
			debugLog(`pg_cron server ready on port ${port}, cron.database_name=${database}`);
			let closing: Promise<void> | undefined;
			return {
				port,
				database,
				url,
				adminUrl,
				close() {
					closing ??= (async () => {
						await server.stop();
						await rm(dir, { recursive: true, force: true });
					})();
					return closing;
				},
			};
		}
	} catch (error) {
		await rm(dir, { recursive: true, force: true }).catch(() => {});
		throw error;
	}
}

async function candidateBinDirs(): Promise<string[]> {
	const dirs: string[] = [];
	const versions = await readdir("/usr/lib/postgresql").catch(() => [] as string[]);
	for (const version of versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))) {
		dirs.push(join("/usr/lib/postgresql", version, "bin"));
	}
	for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
		const pgConfig = join(dir, "pg_config");
		if (!(await accessible(pgConfig, true))) continue;
		// Debian's /usr/bin/pg_config is a wrapper; its --bindir names the real directory.
		try {
			dirs.push((await run(pgConfig, ["--bindir"], {}, 10_000)).trim());
		} catch {
			dirs.push(dirname(pgConfig));
		}
	}
	return [...new Set(dirs)];
}

/** Run `file` to completion (as `uid`/`gid` when given) and return its stdout; reject with its output on failure. */
function run(
	file: string,
	args: readonly string[],
	options: { uid?: number; gid?: number; cwd?: string },
	timeoutMs: number,
): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile(
			file,
			args,
			{ ...options, timeout: timeoutMs, env: { ...process.env, LC_ALL: "C" } },
			(error, stdout, stderr) => {
				if (error) {
					reject(new Error(`${file} ${args.join(" ")} failed: ${describeError(error)}\n${stderr}${stdout}`.trim()));
				} else {
					resolve(stdout);
				}
			},
		);
	});
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
	const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
	client.on("error", (error) => debugLog(`pg_cron server connection error: ${describeError(error)}`));
	try {
		await client.connect();
		return await use(client);
	} finally {
		await client.end().catch(() => {});
	}
}

/** Whether the server answers a query within `timeoutMs` (false as soon as `gone()`): an open port is not enough, it may still be starting up. */
async function waitForServer(url: string, timeoutMs: number, gone: () => boolean): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline && !gone()) {
		try {
			await withClient(url, (client) => client.query("select 1"));
			return true;
		} catch (error) {
			debugLog(`pg_cron server not ready yet: ${describeError(error)}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return false;
}
