#!/usr/bin/env node
/**
 * How many bytes @authpg/core + @authpg/neon add to an edge bundle of
 * better-auth + @neondatabase/serverless: both bundles built with esbuild as
 * an edge function would be (minified, ESM, edge-light/worker/browser
 * conditions), compared minified and gzipped.
 *
 *   pnpm build && pnpm --filter @authpg/neon bundle-size
 *
 * Run from anywhere; it reads packages/neon/dist and core's dist.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = resolve(packageDir, "dist/index.js");
if (!existsSync(dist)) {
	console.error("packages/neon/dist is missing: run `pnpm build` first.");
	process.exit(1);
}

// Both apps use the same driver surface (neon() for HTTP, Pool for WebSockets) and the same Better Auth options.
const baseline = `
import { betterAuth } from "better-auth";
import { neon, Pool } from "@neondatabase/serverless";
const url = globalThis.DATABASE_URL;
export const sql = neon(url);
export const pool = new Pool({ connectionString: url });
export const auth = betterAuth({ emailAndPassword: { enabled: true } });
`;
const withAuthpg = `
import { betterAuth } from "better-auth";
import { neon, Pool } from "@neondatabase/serverless";
import { createStores } from ${JSON.stringify(dist)};
const url = globalThis.DATABASE_URL;
export const sql = neon(url);
export const pool = new Pool({ connectionString: url });
export const stores = createStores({ connectionString: url });
export const auth = betterAuth(stores.applyTo({ emailAndPassword: { enabled: true } }));
`;
// Our code alone, with everything it shares with the app left out.
const alone = `export { createStores } from ${JSON.stringify(dist)};`;

async function measure(contents, external = []) {
	const result = await build({
		stdin: { contents, resolveDir: packageDir, loader: "js" },
		bundle: true,
		minify: true,
		write: false,
		format: "esm",
		platform: "browser",
		conditions: ["edge-light", "worker", "browser"],
		target: "es2022",
		external,
		logLevel: "error",
	});
	const code = result.outputFiles[0].contents;
	return { min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const row = (label, { min, gzip }) =>
	`${label.padEnd(44)} ${String(min).padStart(9)} B (${kb(min).padStart(10)})  ${String(gzip).padStart(8)} B (${kb(gzip).padStart(9)})`;

const base = await measure(baseline);
const ours = await measure(withAuthpg);
const added = { min: ours.min - base.min, gzip: ours.gzip - base.gzip };
const own = await measure(alone, ["better-auth", "@better-auth/*", "@neondatabase/serverless", "kysely", "kysely/*"]);

console.log(`${"bundle".padEnd(44)} ${"minified".padStart(24)}  ${"min + gzip -9".padStart(22)}`);
console.log(row("better-auth + @neondatabase/serverless", base));
console.log(row("  + @authpg/core + @authpg/neon", ours));
console.log(row("added by @authpg/core + @authpg/neon", added));
console.log(row("authpg alone (kysely, better-auth external)", own));
