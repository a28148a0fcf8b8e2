/**
 * The local Neon-compatible endpoints the `@authpg/neon` subjects talk to: a
 * SQL-over-HTTP endpoint and a WebSocket-to-TCP relay, both in front of the
 * benchmark's own server, run in a child process (`neon-local-process.ts`).
 * They stand in for Neon's cloud: figures through them measure the Neon
 * serverless driver plus this local proxy on this machine, not Neon.
 */
import { type ChildProcess, fork } from "node:child_process";
import type { NeonLocalSettings } from "@authpg/conformance/neon";

/** The running child and the `neonConfig` settings that point the driver at it. */
export interface NeonLocalProcess {
	settings: NeonLocalSettings;
	close(): Promise<void>;
}

/** Thrown when the child does not come up; the Neon subjects are then skipped. */
export class NeonLocalStartError extends Error {
	constructor(cause: string) {
		super(`the local Neon endpoints did not start: ${cause}`);
		this.name = "NeonLocalStartError";
	}
}

const START_TIMEOUT_MS = 30_000;

/** Fork the child (with this process's loader flags, so tsx runs it) and wait for its settings. */
export function startNeonLocalProcess(): Promise<NeonLocalProcess> {
	const child = fork(new URL("./neon-local-process.ts", import.meta.url), [], {
		stdio: ["ignore", "ignore", "inherit", "ipc"],
	});
	return new Promise<NeonLocalProcess>((resolve, reject) => {
		const fail = (why: string) => {
			clearTimeout(timer);
			child.kill();
			reject(new NeonLocalStartError(why));
		};
		const timer = setTimeout(() => fail(`no answer within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
		child.once("error", (error) => fail(error.message));
		child.once("exit", (code, signal) => fail(`the child exited (${signal ?? `code ${code}`})`));
		child.once("message", (message) => {
			clearTimeout(timer);
			child.removeAllListeners("exit");
			child.removeAllListeners("error");
			const settings = (message as { settings?: NeonLocalSettings }).settings;
			if (!settings) return fail(`unexpected message ${JSON.stringify(message)}`);
			resolve({ settings, close: () => stop(child) });
		});
	});
}

/** Disconnect (the child closes its servers and exits); kill it if it has not exited after a few seconds. */
function stop(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise<void>((resolve) => {
		const timer = setTimeout(() => child.kill(), 5_000);
		child.once("exit", () => {
			clearTimeout(timer);
			resolve();
		});
		if (child.connected) child.disconnect();
		else child.kill();
	});
}
