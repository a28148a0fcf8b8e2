import { mkdtemp } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hyperdriveWorkerdSuite } from "@authpg/conformance/workerd";
import { build, type Plugin } from "esbuild";
import { createStores } from "../src/index.js";

const NODE_BUILTINS = new Set(builtinModules.filter((name) => !name.startsWith("_")));

/**
 * postgres.js 4 imports Node built-ins by their bare names (`import Stream from 'stream'`), where 3.x's
 * Workers build wrote `node:stream`, and it imports `os` (for the user name and `~/.pgpass`, both read in a
 * try). wrangler, with `nodejs_compat`, resolves a bare built-in to the `node:` module, and gives a Worker
 * whose compatibility date has no `node:os` (before 2025-09-15, as the harness's) unenv's stand-in; the
 * harness's bundle step (`bundleForWorkerd`) keeps only `node:` specifiers external. So the Worker is first
 * bundled here as wrangler would, and the harness bundles that.
 */
const wranglerNodeCompat: Plugin = {
	name: "authpg-wrangler-nodejs-compat",
	setup(pluginBuild) {
		pluginBuild.onResolve({ filter: /^(node:)?os$/ }, () => ({ path: "os", namespace: "authpg-unenv" }));
		pluginBuild.onLoad({ filter: /.*/, namespace: "authpg-unenv" }, () => ({
			// A stand-in as unenv's is: no user name, `/` as home (postgres.js then takes the user from the URL).
			contents: `export const userInfo = () => ({ uid: -1, gid: -1, username: "", homedir: "/", shell: null });
				export const homedir = () => "/";
				export default { userInfo, homedir };`,
			loader: "js",
		}));
		pluginBuild.onResolve({ filter: /^[a-z_/]+$/ }, (args) =>
			NODE_BUILTINS.has(args.path) ? { path: `node:${args.path}`, external: true } : undefined,
		);
	},
};

async function wranglerLikeBundle(entry: string): Promise<string> {
	const outfile = join(await mkdtemp(join(tmpdir(), "authpg-pgjs-workerd-")), "worker.mjs");
	await build({
		entryPoints: [entry],
		outfile,
		bundle: true,
		format: "esm",
		platform: "browser",
		target: "es2022",
		conditions: ["workerd", "worker", "browser"],
		external: ["node:*", "cloudflare:*"],
		plugins: [wranglerNodeCompat],
		logLevel: "silent",
	});
	return outfile;
}

hyperdriveWorkerdSuite({
	name: "postgres-js",
	entry: await wranglerLikeBundle(fileURLToPath(new URL("./workerd/worker.ts", import.meta.url))),
	createStores,
});
