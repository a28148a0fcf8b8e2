/** Small helpers for the servers the test harness starts as child processes (Postgres, PgBouncer). */
import type { ChildProcess } from "node:child_process";
import { type AddressInfo, createServer } from "node:net";

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

/**
 * Stop `child` with `signal`, then with `force` if it has not exited after
 * `timeoutMs`; resolves once `exited` does. Does nothing for a child that already exited.
 */
export async function stopChild(
	child: ChildProcess,
	exited: Promise<unknown>,
	signal: NodeJS.Signals,
	force: NodeJS.Signals,
	timeoutMs: number,
): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	child.kill(signal);
	const timer = setTimeout(() => child.kill(force), timeoutMs);
	try {
		await exited;
	} finally {
		clearTimeout(timer);
	}
}
