/**
 * Find and load the project's auth config the way `@better-auth/cli` does:
 * `--config`, else the first of the usual locations under `--cwd`; a
 * TypeScript file is loaded with jiti, with the tsconfig `paths` aliases and
 * the project's `.env` (which never overrides the environment).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseEnv } from "node:util";
import type { BetterAuthOptions } from "@better-auth/core";
import { createJiti } from "jiti";
import { usageError } from "./exit.js";
import { err } from "./output.js";

const NAMES = ["auth", "auth.server", "auth/index"];
const EXTENSIONS = [".ts", ".js", ".mjs", ".mts", ".cts", ".cjs"];
const DIRECTORIES = ["", "lib/server/", "server/auth/", "server/", "auth/", "lib/", "utils/"];

/** Relative paths searched, in order (Better Auth's order; `.tsx`/`.jsx` left out: jiti cannot load them). */
export const CONFIG_CANDIDATES: readonly string[] = (() => {
	const files = NAMES.flatMap((name) => EXTENSIONS.map((ext) => `${name}${ext}`));
	const nested = DIRECTORIES.flatMap((dir) => files.map((file) => `${dir}${file}`));
	return [...nested, ...nested.map((p) => `src/${p}`), ...nested.map((p) => `app/${p}`)];
})();

/** The part of a Better Auth instance the CLI uses. */
interface AuthInstance {
	options: BetterAuthOptions;
	$context?: Promise<{ adapter?: { id?: string; options?: Record<string, unknown> } }>;
}

/** What the authpg adapter exposes to tooling (`adapter.options.authpg`). */
export interface AuthpgAdapterInfo {
	driver: import("@authpg/core").Driver;
	schema: string;
	usePlural: boolean;
	/** The stores' `seal` option, when sealing is on. */
	seal?: boolean | import("@authpg/core").SealOptions;
}

/** A loaded auth config. */
export interface Project {
	/** Absolute path of the config file. */
	file: string;
	/** The path to show: relative to the cwd when inside it. */
	shown: string;
	options: BetterAuthOptions;
	/** Present when the config's database adapter is authpg's. */
	authpg?: AuthpgAdapterInfo;
	/** The adapter's id (`authpg`, `kysely`, `drizzle`, …), for messages. */
	adapterId?: string;
}

/** The candidate config files that exist under `cwd`, as absolute paths, in search order. */
export const foundConfigs = (cwd: string): string[] =>
	CONFIG_CANDIDATES.map((p) => join(cwd, p)).filter((p) => existsSync(p) && statSync(p).isFile());

/** Resolve which config file to load; throws a usage error naming what is missing. */
export function findConfig(cwd: string, configPath?: string): { file: string; others: string[] } {
	if (!existsSync(cwd) || !statSync(cwd).isDirectory())
		throw usageError(`The directory "${cwd}" (--cwd) does not exist.`);
	if (configPath !== undefined) {
		const file = resolve(cwd, configPath);
		if (!existsSync(file)) throw usageError(`Config file "${file}" (--config) does not exist.`);
		return { file, others: [] };
	}
	const found = foundConfigs(cwd);
	if (found.length === 0) {
		throw usageError(
			`No auth config found in "${cwd}": looked for auth.ts, lib/auth.ts, src/auth.ts, src/lib/auth.ts, utils/auth.ts and the other usual places (.ts, .js, .mjs). Pass --config <path>, or --cwd <project directory>.`,
		);
	}
	return { file: found[0], others: found.slice(1) };
}

/** Load `.env` from `cwd` into `process.env` without overriding variables already set. */
export function loadDotenv(cwd: string): void {
	const file = join(cwd, ".env");
	if (!existsSync(file)) return;
	const parsed = parseEnv(readFileSync(file, "utf8"));
	for (const [key, value] of Object.entries(parsed)) {
		if (process.env[key] === undefined) process.env[key] = value;
	}
}

/** Remove comments and trailing commas from JSONC, leaving strings (`"@/*"`) alone. */
export function stripJsonc(text: string): string {
	let out = "";
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (c === '"') {
			let j = i + 1;
			while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
			out += text.slice(i, j + 1);
			i = j;
		} else if (c === "/" && text[i + 1] === "/") {
			while (i < text.length && text[i] !== "\n") i++;
			out += "\n";
		} else if (c === "/" && text[i + 1] === "*") {
			const end = text.indexOf("*/", i + 2);
			i = end < 0 ? text.length : end + 1;
		} else {
			out += c;
		}
	}
	return out.replace(/,(\s*[}\]])/g, "$1");
}

/**
 * `compilerOptions.paths` of the project's tsconfig.json as jiti aliases
 * (`@/*` → `<baseUrl>/src/*`), so configs importing `@/lib/db` load.
 */
export function tsconfigAliases(cwd: string): Record<string, string> {
	const file = join(cwd, "tsconfig.json");
	if (!existsSync(file)) return {};
	let config: { compilerOptions?: { baseUrl?: string; paths?: Record<string, string[]> } };
	try {
		config = JSON.parse(stripJsonc(readFileSync(file, "utf8")));
	} catch (error) {
		throw usageError(`Could not read "${file}": ${(error as Error).message}`);
	}
	const { paths = {}, baseUrl = "." } = config.compilerOptions ?? {};
	const aliases: Record<string, string> = {};
	for (const [alias, targets] of Object.entries(paths)) {
		const target = targets[0];
		if (!target) continue;
		const from = alias.endsWith("*") ? alias.slice(0, -1) : alias;
		const to = target.endsWith("*") ? target.slice(0, -1) : target;
		if (from) aliases[from] = join(cwd, baseUrl, to) + (to.endsWith("/") ? "/" : "");
	}
	return aliases;
}

function isAuthInstance(value: unknown): value is AuthInstance {
	return typeof value === "object" && value !== null && typeof (value as AuthInstance).options === "object";
}

/** The `auth` export, else the default export (or `module.exports.auth` of a CommonJS file). */
function pickAuth(module: Record<string, unknown>, shown: string): AuthInstance {
	// jiti answers `default` even when the file has none; only an own key is a real default export.
	const names = Object.keys(module).filter((k) => k !== "__esModule");
	const fallback = names.includes("default") ? (module.default as Record<string, unknown> | null) : undefined;
	const candidates: [string, unknown][] = [
		["auth", module.auth],
		["default", fallback],
		["default.auth", fallback?.auth],
	];
	const auth = candidates.map(([, value]) => value).find(isAuthInstance);
	if (auth) return auth;
	const present = candidates.find(([, value]) => value !== undefined && value !== null);
	if (present) {
		throw usageError(
			`${shown}: the \`${present[0]}\` export is not a Better Auth instance (it has no \`options\`). Export the value \`betterAuth({ … })\` returns.`,
		);
	}
	throw usageError(
		`${shown}: no Better Auth instance exported. Export it as \`export const auth = betterAuth({ … })\` or as the default export${names.length ? ` (found exports: ${names.join(", ")})` : ""}.`,
	);
}

/** Load the config and find its Better Auth instance and (when it is authpg's) the adapter's driver. */
export async function loadProject(cwd: string, configPath?: string): Promise<Project & { others: string[] }> {
	const { file, others } = findConfig(cwd, configPath);
	const rel = relative(cwd, file);
	const shown = rel.startsWith("..") ? file : rel;
	loadDotenv(cwd);
	const jiti = createJiti(join(cwd, "/"), { alias: tsconfigAliases(cwd) });
	let module: Record<string, unknown>;
	try {
		module = (await jiti.import(file)) as Record<string, unknown>;
	} catch (error) {
		throw usageError(`Could not load ${shown}: ${(error as Error)?.message ?? String(error)}`);
	}
	const auth = pickAuth(module, shown);
	let adapter: { id?: string; options?: Record<string, unknown> } | undefined;
	try {
		adapter = (await auth.$context)?.adapter;
	} catch (error) {
		throw usageError(`${shown}: Better Auth failed to start: ${(error as Error)?.message ?? String(error)}`);
	}
	const info = adapter?.options?.authpg as Partial<AuthpgAdapterInfo> | undefined;
	const authpg =
		info && typeof info.driver?.query === "function" && typeof info.driver.transaction === "function"
			? {
					driver: info.driver,
					schema: info.schema ?? "public",
					usePlural: info.usePlural === true,
					...(info.seal ? { seal: info.seal } : {}),
				}
			: undefined;
	return { file, shown, options: auth.options, authpg, adapterId: adapter?.id, others };
}

/**
 * {@link loadProject} for a command's `--cwd` and `--config`; notes on stderr
 * which file it used when several were found.
 */
export async function loadConfig(flags: { cwd: string; config?: string }): Promise<Project & { others: string[] }> {
	const project = await loadProject(resolve(flags.cwd), flags.config);
	if (project.others.length > 0) {
		err(`Using ${project.shown} (also found: ${project.others.join(", ")}; pass --config to choose).`);
	}
	return project;
}
