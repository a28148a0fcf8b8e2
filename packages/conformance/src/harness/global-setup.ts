/**
 * A vitest `globalSetup` that starts one PostgreSQL server for the whole run, so every test file's
 * `startTestDatabase()` creates its database there instead of starting a server of its own.
 *
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ["@authpg/conformance/global-setup"] } });
 * ```
 *
 * When `AUTHPG_TEST_DATABASE_URL` (or `DATABASE_URL`) is set it does nothing: test files use that
 * server directly.
 *
 * @module
 */
import type { TestProject } from "vitest/node";
import { debugLog, envDatabaseUrl, PROVIDED_SERVER_KEY, startTestServer, type TestServer } from "./database-server.js";

let server: TestServer | undefined;

/** Start the shared server and hand its admin URL to test files. */
export async function setup(project: TestProject): Promise<void> {
	if (envDatabaseUrl()) return;
	const started = Date.now();
	server = await startTestServer();
	debugLog(`global ${server.source} server ready in ${Date.now() - started} ms`);
	project.provide(PROVIDED_SERVER_KEY, { adminUrl: server.adminUrl, source: server.source });
}

/** Stop the shared server; its databases go with it. */
export async function teardown(): Promise<void> {
	const current = server;
	server = undefined;
	await current?.stop();
}
