/**
 * Runs a driver's Worker in workerd (miniflare) with a Hyperdrive binding
 * whose local connection string points at the test Postgres, drives Better
 * Auth through it, and checks that no connection outlives the requests.
 * Each driver package calls {@link hyperdriveWorkerdSuite} with a Worker
 * entry built on `hyperdriveWorker` from `./app.ts`.
 */
import { randomBytes } from "node:crypto";
import { builtinModules } from "node:module";
import type { Stores } from "@authpg/core";
import { build, type Plugin } from "esbuild";
import { Miniflare } from "miniflare";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestDatabase, type TestDatabase } from "../../harness/database.js";
import { HYPERDRIVE_SCHEMA, hyperdriveAuthOptions } from "./app.js";

/** A driver's Worker under test. */
export interface HyperdriveTarget {
	/** Label in test names, e.g. `"node-postgres"`. */
	name: string;
	/** Absolute path of the Worker entry (a module exporting `hyperdriveWorker(...)` as default). */
	entry: string;
	/** The driver package's `createStores`, used from Node to create the auth tables before the Worker starts. */
	createStores(config: { connectionString: string; schema: string }): Stores;
}

const NODE_BUILTINS = new Set(builtinModules.filter((name) => !name.startsWith("_")));

/**
 * workerd refuses a bundle with a dynamic `require()` of a Node built-in
 * (pg does `require("events")`, `net`, `tls`, ...): each becomes a tiny module
 * that imports `node:X` and re-exports it.
 */
const requireBuiltins: Plugin = {
	name: "authpg-require-builtins",
	setup(pluginBuild) {
		pluginBuild.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
			const name = args.path.replace(/^node:/, "");
			if (args.kind !== "require-call" || !NODE_BUILTINS.has(name)) return undefined;
			return { path: name, namespace: "authpg-builtin" };
		});
		pluginBuild.onLoad({ filter: /.*/, namespace: "authpg-builtin" }, (args) => ({
			contents: `export * from "node:${args.path}"; export { default } from "node:${args.path}";`,
			loader: "js",
		}));
	},
};

/** Bundle `entry` as wrangler would for workerd. */
export async function bundleForWorkerd(entry: string): Promise<string> {
	const result = await build({
		entryPoints: [entry],
		bundle: true,
		write: false,
		format: "esm",
		platform: "browser",
		target: "es2022",
		conditions: ["workerd", "worker", "browser"],
		external: ["node:*", "cloudflare:*"],
		plugins: [requireBuiltins],
		logLevel: "silent",
	});
	return result.outputFiles[0]!.text;
}

/** Hyperdrive's local connection string needs a password, even where the server ignores it. */
function withPassword(url: string): string {
	const parsed = new URL(url);
	if (!parsed.password) parsed.password = "unused";
	return parsed.toString();
}

const BASE = "http://localhost:3000/api/auth";
const JSON_HEADERS = { "content-type": "application/json", origin: "http://localhost:3000" };
const PASSWORD = "correct horse battery staple";

/**
 * 100 requests through Better Auth in workerd for `target`: 20 concurrent
 * sign-ups, then per user sign-in, getSession, sign-out and getSession again;
 * every one must succeed, and afterwards no connection to the database is left.
 */
export function hyperdriveWorkerdSuite(target: HyperdriveTarget): void {
	describe(`${target.name}: Cloudflare Workers + Hyperdrive (workerd)`, () => {
		let database: TestDatabase;
		let miniflare: Miniflare | undefined;
		let admin: pg.Client;

		beforeAll(async () => {
			database = await startTestDatabase({ prefix: `${target.name.replace(/\W/g, "_")}_workerd` });
			const stores = target.createStores({ connectionString: database.url, schema: HYPERDRIVE_SCHEMA });
			try {
				await stores.migrate(hyperdriveAuthOptions);
			} finally {
				await stores.close();
			}
			admin = new pg.Client({ connectionString: database.url });
			await admin.connect();
			const code = await bundleForWorkerd(target.entry);
			miniflare = new Miniflare({
				// Listed explicitly: Better Auth's bundle keeps a dynamic import that scriptPath + modules: true rejects.
				modules: [{ type: "ESModule", path: "worker.mjs", contents: code }],
				compatibilityDate: "2025-09-01",
				// process.env filled from the bindings: NODE_ENV=development must still not share connections.
				compatibilityFlags: ["nodejs_compat", "nodejs_compat_populate_process_env", "enable_nodejs_fs_module"],
				bindings: { AUTH_SECRET: randomBytes(32).toString("hex"), NODE_ENV: "development" },
				hyperdrives: { HYPERDRIVE: withPassword(database.url) },
				// Otherwise miniflare fetches Cloudflare's request metadata from the internet.
				cf: false,
			});
			await miniflare.ready;
		});

		afterAll(async () => {
			await miniflare?.dispose();
			await admin?.end();
			await database?.close();
		});

		const others = async () => {
			const { rows } = await admin.query<{ n: string }>(
				"select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
			);
			return Number(rows[0]?.n);
		};

		it("100 requests (20 concurrent) all succeed, and no connection is left afterwards", async () => {
			const fetch = (path: string, init?: RequestInit) =>
				miniflare!.dispatchFetch(`${BASE}${path}`, init as never) as unknown as Promise<Response>;
			const statuses: number[] = [];
			const ok = async (response: Response) => {
				statuses.push(response.status);
				expect(response.status, await response.clone().text()).toBe(200);
				expect(response.headers.get("x-runtime")).toBe("Cloudflare-Workers");
				expect(response.headers.get("x-node-env")).toBe("development");
				return response;
			};
			const emails = Array.from({ length: 20 }, (_, i) => `hd-${i}-${randomBytes(4).toString("hex")}@example.com`);

			await Promise.all(
				emails.map(async (email) => {
					const response = await ok(
						await fetch("/sign-up/email", {
							method: "POST",
							headers: JSON_HEADERS,
							body: JSON.stringify({ email, password: PASSWORD, name: email }),
						}),
					);
					expect(((await response.json()) as { user: { email: string } }).user.email).toBe(email);
				}),
			);

			for (const email of emails) {
				const signIn = await ok(
					await fetch("/sign-in/email", {
						method: "POST",
						headers: JSON_HEADERS,
						body: JSON.stringify({ email, password: PASSWORD }),
					}),
				);
				const cookie = signIn.headers
					.getSetCookie()
					.map((header) => header.split(";")[0])
					.join("; ");
				const session = await ok(await fetch("/get-session", { headers: { cookie } }));
				expect(((await session.json()) as { user?: { email?: string } } | null)?.user?.email).toBe(email);
				await ok(await fetch("/sign-out", { method: "POST", headers: { ...JSON_HEADERS, cookie }, body: "{}" }));
				const after = await ok(await fetch("/get-session", { headers: { cookie } }));
				expect(await after.json()).toBeNull();
			}

			expect(statuses).toHaveLength(100);
			const { rows } = await admin.query<{ n: string }>(
				`select count(*) as n from ${HYPERDRIVE_SCHEMA}."user" where email = any($1::text[])`,
				[emails],
			);
			expect(Number(rows[0]?.n)).toBe(20);
			// workerd closes a request's sockets when it ends; give the server a moment to notice.
			await vi.waitFor(async () => expect(await others()).toBe(0), { timeout: 10_000, interval: 100 });
		});
	});
}
