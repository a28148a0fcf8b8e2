import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { debugLog } from "./database-server.js";
import { accessible, freePort, passwdEntry, spawnServer } from "./processes.js";

/** Where the `pgbouncer` binary is, or why there is none. */
export type PgBouncerLookup = { found: true; binary: string } | { found: false; reason: string };

/** A running PgBouncer. */
export interface PgBouncer {
	/** The loopback port it listens on. */
	readonly port: number;
	/** `url` (a database on the server this PgBouncer fronts) with PgBouncer's host and port instead. */
	route(url: string): string;
	/** Stop it and remove its files. Safe to call more than once. */
	close(): Promise<void>;
}

/** Options for {@link startPgBouncer}. */
export interface StartPgBouncerOptions {
	/** The binary; default: what {@link findPgBouncer} finds. */
	binary?: string;
	/** Server connections per database and user (`default_pool_size`). Default 20. */
	poolSize?: number;
	/** `pool_mode`. Default `transaction`, the mode the pooler tests are about. */
	poolMode?: "transaction" | "session";
}

const SEARCHED = ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin", "/sbin"];
const START_ATTEMPTS = 5;
const READY_TIMEOUT_MS = 15_000;
const SHUTDOWN = { signal: "SIGTERM", force: "SIGKILL", stopTimeoutMs: 5_000 } as const;

/**
 * Find `pgbouncer`: `AUTHPG_PGBOUNCER` if set, else `PATH` and the usual sbin directories (Debian
 * installs it in `/usr/sbin`, which is not on every user's `PATH`). As root it must be able to
 * drop to the `postgres` user (PgBouncer refuses to run as root).
 */
export async function findPgBouncer(): Promise<PgBouncerLookup> {
	const configured = process.env.AUTHPG_PGBOUNCER?.trim();
	const candidates = configured
		? [configured]
		: [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SEARCHED].map((dir) => join(dir, "pgbouncer"));
	let binary: string | undefined;
	for (const candidate of candidates) {
		if (await accessible(candidate, true)) {
			binary = candidate;
			break;
		}
	}
	if (!binary) {
		return {
			found: false,
			reason: configured
				? `AUTHPG_PGBOUNCER=${configured} is not an executable file`
				: "no pgbouncer binary on PATH or in /usr/sbin (install it: apt-get install -y pgbouncer; .ci/run does)",
		};
	}
	if (process.getuid?.() === 0 && !(await passwdEntry("postgres"))) {
		return {
			found: false,
			reason: `running as root, and there is no "postgres" user for ${binary} to run as (PgBouncer refuses to run as root)`,
		};
	}
	return { found: true, binary };
}

/**
 * Start PgBouncer in transaction pooling mode in front of the server `serverUrl` points at (any
 * database on it; the credentials in it are the ones PgBouncer logs in with). Every database name
 * is routed to that server, so {@link PgBouncer.route} works for each test database on it.
 * Clients authenticate with `trust`: it listens on 127.0.0.1 only, for the length of a test run.
 */
export async function startPgBouncer(serverUrl: string, options: StartPgBouncerOptions = {}): Promise<PgBouncer> {
	let binary = options.binary;
	if (!binary) {
		const found = await findPgBouncer();
		if (!found.found) throw new Error(`PgBouncer is not available: ${found.reason}`);
		binary = found.binary;
	}
	const server = new URL(serverUrl);
	const user = decodeURIComponent(server.username || "postgres");
	const password = decodeURIComponent(server.password);
	const host = server.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
	const serverPort = server.port || "5432";

	const dir = await mkdtemp(join(tmpdir(), "authpg-pgbouncer-"));
	try {
		// As root PgBouncer runs as "postgres" (-u), which must read its files.
		await chmod(dir, 0o755);
		const authFile = join(dir, "userlist.txt");
		await writeFile(authFile, `${quote(user)} ${quote(password)}\n`, { mode: 0o644 });
		for (let attempt = 1; ; attempt++) {
			const port = await freePort();
			const ini = join(dir, "pgbouncer.ini");
			await writeFile(
				ini,
				[
					"[databases]",
					`* = host=${host} port=${serverPort}`,
					"[pgbouncer]",
					"listen_addr = 127.0.0.1",
					`listen_port = ${port}`,
					"unix_socket_dir =",
					"auth_type = trust",
					`auth_file = ${authFile}`,
					`pool_mode = ${options.poolMode ?? "transaction"}`,
					`default_pool_size = ${options.poolSize ?? 20}`,
					"max_client_conn = 1000",
					// After a server restart, log in again within a second rather than the default 15.
					"server_login_retry = 1",
					"ignore_startup_parameters = extra_float_digits",
					"logfile =",
					"pidfile =",
					"",
				].join("\n"),
				{ mode: 0o644 },
			);
			const args = process.getuid?.() === 0 ? ["-u", "postgres", ini] : [ini];
			// SIGTERM is PgBouncer's immediate shutdown (SIGINT would wait for every client to leave).
			const bouncer = spawnServer("pgbouncer", binary, args, {}, SHUTDOWN);
			if (!(await waitForPort(port, READY_TIMEOUT_MS, bouncer.gone))) {
				await bouncer.stop();
				const text = bouncer.output();
				if (/Address already in use|could not bind/i.test(text) && attempt < START_ATTEMPTS) continue;
				throw new Error(`PgBouncer (${binary}) did not start on 127.0.0.1:${port}:\n${text || "(no output)"}`);
			}
			debugLog(`pgbouncer ready on port ${port} in front of ${host}:${serverPort}`);
			let closing: Promise<void> | undefined;
			return {
				port,
				route(url: string): string {
					const routed = new URL(url);
					routed.hostname = "127.0.0.1";
					routed.port = String(port);
					return routed.toString();
				},
				close() {
					closing ??= (async () => {
						await bouncer.stop();
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

/** A userlist.txt field: double-quoted, with `"` doubled. */
function quote(value: string): string {
	return `"${value.replace(/"/g, '""')}"`;
}

/** Whether something accepts connections on `port` within `timeoutMs` (false as soon as `gone()`). */
async function waitForPort(port: number, timeoutMs: number, gone: () => boolean): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline && !gone()) {
		const open = await new Promise<boolean>((resolve) => {
			const socket = connectTcp({ host: "127.0.0.1", port });
			socket.once("connect", () => {
				socket.destroy();
				resolve(true);
			});
			socket.once("error", () => resolve(false));
		});
		if (open) return true;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	return false;
}
