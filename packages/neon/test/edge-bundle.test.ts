import { builtinModules } from "node:module";
import { resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Plugin } from "esbuild";
import { describe, expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const entry = resolve(packageDir, "src/index.ts");
const coreDist = resolve(packageDir, "../core/dist") + sep;
const builtins = new Set(builtinModules);

/** An import of a Node built-in found in a bundle. */
interface BuiltinImport {
	path: string;
	importer: string;
	kind: string;
}

/** Every import of a Node built-in esbuild meets, with the file importing it (kept external, never resolved). */
function nodeBuiltinProbe(found: BuiltinImport[]): Plugin {
	return {
		name: "node-builtin-probe",
		setup(b) {
			b.onResolve({ filter: /.*/ }, (args) => {
				const bare = args.path.replace(/^node:/, "").split("/")[0];
				if (args.path.startsWith("node:") || builtins.has(bare)) {
					found.push({ path: args.path, importer: args.importer, kind: args.kind });
					return { path: args.path, external: true };
				}
				return undefined;
			});
		},
	};
}

async function bundle(options: BuildOptions): Promise<{ builtins: BuiltinImport[]; inputs: string[] }> {
	const found: BuiltinImport[] = [];
	const result = await build({
		bundle: true,
		write: false,
		format: "esm",
		metafile: true,
		absWorkingDir: packageDir,
		logLevel: "silent",
		plugins: [nodeBuiltinProbe(found)],
		...options,
	});
	const inputs = Object.keys(result.metafile?.inputs ?? {}).map((path) => resolve(packageDir, path));
	return { builtins: found, inputs };
}

/** A Node built-in a target may contain, and why. */
interface Allowed {
	path: string;
	importer: RegExp;
	kind: string;
}

const edgeTargets: [string, BuildOptions, Allowed[]][] = [
	["Vercel Edge (edge-light)", { platform: "browser", conditions: ["edge-light", "worker", "browser"] }, []],
	[
		"Cloudflare Workers (workerd)",
		{ platform: "browser", conditions: ["workerd", "worker", "browser"] },
		// Better Auth's own AsyncLocalStorage loader, which the core's transaction scope goes through: under the
		// workerd condition it tries node:async_hooks (Better Auth needs nodejs_compat on Workers anyway), in a
		// try/catch, by dynamic import. Nothing else may appear.
		[{ path: "node:async_hooks", importer: /\/@better-auth\/core\/dist\/async_hooks\//, kind: "dynamic-import" }],
	],
];

const isAllowed = (allowed: Allowed[]) => (found: BuiltinImport) =>
	allowed.some((a) => a.path === found.path && a.kind === found.kind && a.importer.test(found.importer));

describe("edge bundle", () => {
	it.each(edgeTargets)("@authpg/neon and @authpg/core import no Node built-in for %s", async (_, options, allowed) => {
		const { builtins: found, inputs } = await bundle({ entryPoints: [entry], ...options });
		expect(found.filter((f) => !isAllowed(allowed)(f))).toEqual([]);
		// The whole chain was bundled, not left external: the core, the Neon driver and Kysely.
		expect(inputs.some((path) => path.startsWith(coreDist))).toBe(true);
		expect(inputs.some((path) => path.includes("@neondatabase/serverless"))).toBe(true);
		expect(inputs.some((path) => path.includes("/kysely/"))).toBe(true);
	});

	it("the probe catches a Node built-in, with or without the node: prefix", async () => {
		const { builtins: found } = await bundle({
			stdin: { contents: 'import "node:crypto"; import "events";', resolveDir: process.cwd() },
			platform: "browser",
		});
		expect(found).toHaveLength(2);
	});
});
