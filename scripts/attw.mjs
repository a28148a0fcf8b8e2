/**
 * `pnpm attw`: Are the Types Wrong? on the tarball of every publishable package, as users'
 * tools resolve it. The packages are ESM only (as postgres.js 4 and Kysely 0.29 chose), so the
 * check uses attw's `esm-only` profile: a `require()` that resolves to ESM is expected, not an
 * error (Node ≥ 20.19 loads it; the packaging test proves it). Everything else attw checks, for
 * `node16` from ESM and for `bundler`, must pass.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { packAll, publishablePackages, root } from "./pack.mjs";

const require = createRequire(join(root, "package.json"));
const attw = join(dirname(require.resolve("@arethetypeswrong/cli/package.json")), "dist", "index.js");

const work = mkdtempSync(join(tmpdir(), "authpg-attw-"));
const failed = [];
try {
	for (const pkg of packAll(publishablePackages(), work)) {
		console.log(`\n=== attw ${pkg.name}@${pkg.version}`);
		const run = spawnSync(process.execPath, [attw, pkg.tarball, "--profile", "esm-only", "--format", "ascii"], {
			stdio: "inherit",
		});
		if (run.status !== 0) failed.push(pkg.name);
	}
} finally {
	rmSync(work, { recursive: true, force: true });
}
if (failed.length > 0) {
	console.error(`\nattw found problems in: ${failed.join(", ")}`);
	process.exit(1);
}
console.log("\nattw: every package passes (profile esm-only).");
