/**
 * Shared by the edge smoke tests: the test database and local Neon
 * endpoints, the migrated auth schema, the bundle, and the sign-up →
 * sign-in → getSession walk driven through a runtime's `fetch`.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import { configureNeon, type NeonLocal, startNeonLocal } from "@authpg/conformance/neon";
import { neonConfig } from "@neondatabase/serverless";
import { type BuildOptions, build } from "esbuild";
import { expect } from "vitest";
import { createStores } from "../src/index.js";
import { type SmokeConfig, smokeAuthOptions } from "./edge/app.js";

/** What a smoke test runs against. */
export interface SmokeBackend {
	database: TestDatabase;
	local: NeonLocal;
	config: SmokeConfig;
	close(): Promise<void>;
}

/** Start the database and endpoints, and migrate the auth schema the app uses (from Node, over the same endpoints). */
export async function startSmokeBackend(prefix: string): Promise<SmokeBackend> {
	const [database, local] = await Promise.all([startTestDatabase({ prefix }), startNeonLocal()]);
	configureNeon(neonConfig, local);
	const config: SmokeConfig = {
		databaseUrl: database.url,
		schema: "auth",
		secret: randomBytes(32).toString("hex"),
		baseURL: "http://localhost:3000",
		neon: local.settings,
	};
	const stores = createStores({ connectionString: database.url, schema: config.schema });
	try {
		await stores.migrate(smokeAuthOptions);
	} finally {
		await stores.close();
	}
	return {
		database,
		local,
		config,
		async close() {
			await local.close();
			await database.close();
		},
	};
}

/** Bundle one of the `test/edge` entries as a runtime would get it. */
export async function bundleApp(entry: "vercel-edge" | "workerd", options: BuildOptions): Promise<string> {
	const result = await build({
		entryPoints: [fileURLToPath(new URL(`./edge/${entry}.ts`, import.meta.url))],
		bundle: true,
		write: false,
		platform: "browser",
		target: "es2022",
		logLevel: "silent",
		...options,
	});
	return result.outputFiles![0].text;
}

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** Sign up, sign in and read the session through `fetch`; every step must have run in `runtime`. */
export async function signUpSignInGetSession(fetch: Fetch, runtime: RegExp, email: string): Promise<void> {
	const base = "http://localhost:3000/api/auth";
	const json = { "content-type": "application/json", origin: "http://localhost:3000" };
	const password = "correct horse battery staple";

	const signUp = await fetch(`${base}/sign-up/email`, {
		method: "POST",
		headers: json,
		body: JSON.stringify({ email, password, name: "Edge Smoke" }),
	});
	expect(signUp.headers.get("x-runtime")).toMatch(runtime);
	expect(signUp.status, await signUp.clone().text()).toBe(200);
	expect(((await signUp.json()) as { user: { email: string } }).user.email).toBe(email);

	const signIn = await fetch(`${base}/sign-in/email`, {
		method: "POST",
		headers: json,
		body: JSON.stringify({ email, password }),
	});
	expect(signIn.status, await signIn.clone().text()).toBe(200);
	const cookie = sessionCookie(signIn.headers.get("set-cookie"));

	const session = await fetch(`${base}/get-session`, { headers: { cookie } });
	expect(session.headers.get("x-runtime")).toMatch(runtime);
	expect(session.status).toBe(200);
	const body = (await session.json()) as { user?: { email?: string }; session?: { token?: unknown } } | null;
	expect(body?.user?.email).toBe(email);
	expect(typeof body?.session?.token).toBe("string");
}

function sessionCookie(setCookie: string | null): string {
	const match = setCookie?.match(/(?:^|,\s*)(better-auth\.session_token=[^;]+)/);
	expect(match, `a session cookie in: ${setCookie}`).toBeTruthy();
	return match![1];
}
