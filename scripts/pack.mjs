/**
 * Packs every publishable workspace package as `pnpm publish` would: `prepack` builds it first,
 * `workspace:` ranges become versions, and `publishConfig` applies. Shared by `pnpm attw` and
 * the packaging test, so both look at the tarballs users would get.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** The pnpm this repository pins (a root devDependency), so packing never depends on a global one. */
const pnpmBin = join(root, "node_modules", "pnpm", "bin", "pnpm.cjs");

/** Run the repository's pnpm in `cwd`; its output is returned, or shown when `inherit`. */
export function pnpm(args, { cwd = root, inherit = false } = {}) {
	return execFileSync(process.execPath, [pnpmBin, ...args], {
		cwd,
		encoding: "utf8",
		stdio: inherit ? "inherit" : ["ignore", "pipe", "inherit"],
	});
}

/**
 * @typedef {object} Publishable
 * @property {string} name
 * @property {string} version
 * @property {string} dir the package's directory
 * @property {Record<string, any>} manifest its package.json
 */

/** Every workspace package that is not private, in name order. */
export function publishablePackages() {
	/** @type {{ name: string; path: string; private?: boolean }[]} */
	const all = JSON.parse(pnpm(["-r", "ls", "--depth", "-1", "--json"]));
	return all
		.filter((p) => !p.private && p.path !== root)
		.map((p) => {
			const manifest = JSON.parse(readFileSync(join(p.path, "package.json"), "utf8"));
			return { name: manifest.name, version: manifest.version, dir: p.path, manifest };
		})
		.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Pack each of `packages` into a directory of its own under `destination` (one at a time:
 * each `prepack` runs turbo, and turbo runs in parallel against itself badly).
 *
 * @param {Publishable[]} packages
 * @param {string} destination
 * @returns {(Publishable & { tarball: string })[]}
 */
export function packAll(packages, destination) {
	return packages.map((pkg) => {
		const out = join(destination, pkg.name.replace("/", "__"));
		mkdirSync(out, { recursive: true });
		pnpm(["pack", "--pack-destination", out], { cwd: pkg.dir });
		const [file] = readdirSync(out).filter((f) => f.endsWith(".tgz"));
		if (!file) throw new Error(`pnpm pack wrote no tarball for ${pkg.name}`);
		return { ...pkg, tarball: join(out, file) };
	});
}
