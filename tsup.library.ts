import { defineConfig } from "tsup";

/** The build every library package shares: ESM with declarations, for Node 20 and edge runtimes. */
export const library = defineConfig({
	entry: ["src/index.ts"],
	format: ["esm"],
	dts: true,
	clean: true,
	sourcemap: true,
	target: "es2022",
});
