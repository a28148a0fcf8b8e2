import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { library } from "../../tsup.library.js";

/**
 * In the workspace the package's `exports` point at its TypeScript sources (tests run them
 * directly); the published package points at `dist/<export name>.js` (`publishConfig.exports`).
 * The entries are read from `exports`, so moving a source file only means updating `exports`.
 */
const { exports, publishConfig } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
	exports: Record<string, string>;
	publishConfig: { exports: Record<string, unknown> };
};
const published = Object.keys(publishConfig.exports).filter((subpath) => subpath !== "./package.json");
if (published.sort().join() !== Object.keys(exports).sort().join()) {
	throw new Error("package.json: publishConfig.exports must list the same entry points as exports.");
}
const entry = Object.fromEntries(
	Object.entries(exports).map(([subpath, source]) => [subpath === "." ? "index" : subpath.slice(2), source]),
);

export default defineConfig({
	...library,
	entry,
	platform: "node",
	target: "node20",
	// `database-server.ts` augments vitest's ProvidedContext without importing "vitest"; a
	// declaration build of one entry must have vitest's types in the program for it to apply.
	dts: { compilerOptions: { types: ["node", "vitest"] } },
});
