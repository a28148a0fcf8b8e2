/** Runs the built `authpg` binary the way CI does: stdin not a terminal, no colour. */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI; the package's test script builds it first. */
export const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "cli.js");

/** How one CLI run ended. */
export interface Run {
	code: number | null;
	stdout: string;
	stderr: string;
}

/**
 * Variables a developer's shell may carry that would change what the CLI
 * does (colour, key-store passwords, a test URL); removed unless `env` sets them.
 */
const SCRUBBED = ["FORCE_COLOR", "AUTHPG_KEYSTORE_PASSWORD", "AUTHPG_KEYSTORE_NEW_PASSWORD", "AUTHPG_CLI_TEST_URL"];

/** Run `authpg ...args` in `cwd` with `env` added to this process's environment. */
export function runCli(cwd: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
	const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
	for (const name of SCRUBBED) delete base[name];
	return new Promise((resolve) => {
		const child = execFile(
			process.execPath,
			[BIN, ...args],
			{ cwd, env: { ...base, ...env } },
			(error, stdout, stderr) => {
				resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr });
			},
		);
		child.stdin?.end();
	});
}
