/** Helpers for the servers the test harness starts as child processes (PostgreSQL, PgBouncer). */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { debugLog, describeError } from "./database-server.js";

/** A port on 127.0.0.1 that was free a moment ago (callers retry if another process takes it first). */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const probe = createServer();
		probe.unref();
		probe.once("error", reject);
		probe.listen(0, "127.0.0.1", () => {
			const { port } = probe.address() as AddressInfo;
			probe.close(() => resolve(port));
		});
	});
}

/** Whether `path` exists and is readable (`executable`: executable). */
export function accessible(path: string, executable = false): Promise<boolean> {
	return access(path, executable ? constants.X_OK : constants.R_OK).then(
		() => true,
		() => false,
	);
}

/** The uid and gid of OS user `name`, or undefined when there is none (or /etc/passwd cannot be read). */
export async function passwdEntry(name: string): Promise<{ uid: number; gid: number } | undefined> {
	try {
		const passwd = await readFile("/etc/passwd", "utf8");
		const fields = passwd
			.split("\n")
			.find((line) => line.startsWith(`${name}:`))
			?.split(":");
		return fields ? { uid: Number(fields[2]), gid: Number(fields[3]) } : undefined;
	} catch (error) {
		debugLog(`could not read /etc/passwd: ${describeError(error)}`);
		return undefined;
	}
}

/** A server running as a child process. */
export interface ServerProcess {
	readonly child: ChildProcess;
	/** Settles when the process has exited. */
	readonly exited: Promise<void>;
	/** Whether it has exited. */
	gone(): boolean;
	/** Its last 40 lines of output, for an error message when it fails to start. */
	output(): string;
	/** Stop it with `signal`, then `force` after the timeout; resolves once it has exited. */
	stop(): Promise<void>;
}

// Synchronous last resort: a test run that dies without stopping its servers must not leave them behind.
const running = new Map<ChildProcess, NodeJS.Signals>();
process.on("exit", () => {
	for (const [child, signal] of running) child.kill(signal);
});

/**
 * Spawn `file` as a server labelled `label` in debug output. `signal` is its
 * quick shutdown, `force` the one used when that takes longer than `stopTimeoutMs`
 * and when this process exits without stopping it.
 */
export function spawnServer(
	label: string,
	file: string,
	args: readonly string[],
	options: SpawnOptions,
	shutdown: { signal: NodeJS.Signals; force: NodeJS.Signals; stopTimeoutMs: number },
): ServerProcess {
	const child = spawn(file, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
	running.set(child, shutdown.force);
	const log: string[] = [];
	const keep = (chunk: Buffer) => {
		for (const line of chunk.toString("utf8").split(/\r?\n/)) {
			if (!line.trim()) continue;
			debugLog(`${label}: ${line}`);
			log.push(line);
			if (log.length > 40) log.shift();
		}
	};
	child.stdout?.on("data", keep);
	child.stderr?.on("data", keep);
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	exited.then(() => running.delete(child));
	const gone = () => child.exitCode !== null || child.signalCode !== null;
	return {
		child,
		exited,
		gone,
		output: () => log.join("\n"),
		async stop() {
			if (gone()) return;
			child.kill(shutdown.signal);
			const timer = setTimeout(() => child.kill(shutdown.force), shutdown.stopTimeoutMs);
			try {
				await exited;
			} finally {
				clearTimeout(timer);
			}
		},
	};
}
