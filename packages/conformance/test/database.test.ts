import { createConnection } from "node:net";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { startTestDatabase, type TestDatabase } from "../src/harness/database.js";
import { envDatabaseUrl, startTestServer } from "../src/harness/database-server.js";

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []) {
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	try {
		return (await client.query<T>(sql, params)).rows;
	} finally {
		await client.end();
	}
}

function databaseOf(url: string): string {
	return decodeURIComponent(new URL(url).pathname.slice(1));
}

function portOpen(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = createConnection({ host: "127.0.0.1", port });
		socket.once("connect", () => {
			socket.destroy();
			resolve(true);
		});
		socket.once("error", () => resolve(false));
	});
}

describe("startTestDatabase", () => {
	const opened: TestDatabase[] = [];
	afterAll(async () => {
		await Promise.all(opened.map((db) => db.close()));
	});

	it("gives each call its own empty, isolated database", async () => {
		const [a, b] = await Promise.all([startTestDatabase({ prefix: "iso-A" }), startTestDatabase({ prefix: "iso-A" })]);
		opened.push(a, b);

		expect(a.url).not.toBe(b.url);
		expect(databaseOf(a.url)).toMatch(/^authpg_iso_a_[0-9a-f]{10}$/);
		expect(databaseOf(b.url)).toMatch(/^authpg_iso_a_[0-9a-f]{10}$/);

		const [[current]] = await Promise.all([
			query<{ db: string }>(a.url, "select current_database() as db"),
			query(b.url, "select 1"),
		]);
		expect(current.db).toBe(databaseOf(a.url));

		const tablesOf = (url: string) =>
			query<{ name: string }>(
				url,
				"select table_name as name from information_schema.tables where table_schema = 'public'",
			);
		expect(await tablesOf(a.url)).toEqual([]);

		await query(a.url, "create table only_in_a (id int primary key)");
		await query(a.url, "insert into only_in_a values (1)");
		expect(await tablesOf(a.url)).toEqual([{ name: "only_in_a" }]);
		expect(await tablesOf(b.url)).toEqual([]);
	});

	it("reports where the server came from", async () => {
		const db = await startTestDatabase();
		opened.push(db);
		if (envDatabaseUrl()) {
			expect(db.source).toBe("env");
		} else {
			expect(["testcontainers", "embedded"]).toContain(db.source);
			// Without the global setup (a consumer's config may omit it) the call starts its own server.
			const shared = inject("authpgTestServer");
			if (shared) expect(db.source).toBe(shared.source);
		}
	});

	it("drops the database on close, and close is idempotent", async () => {
		const [doomed, witness] = await Promise.all([
			startTestDatabase({ prefix: "close" }),
			startTestDatabase({ prefix: "witness" }),
		]);
		opened.push(witness);
		// A connection left open must not keep close() from dropping the database.
		const leaked = new pg.Client({ connectionString: doomed.url });
		leaked.on("error", () => {});
		await leaked.connect();

		await Promise.all([doomed.close(), doomed.close()]);
		await doomed.close();
		await leaked.end().catch(() => {});

		if (!envDatabaseUrl() && !inject("authpgTestServer")) {
			// Each call started its own server, and close() stopped doomed's along with its database.
			await expect(query(doomed.url, "select 1")).rejects.toThrow();
			return;
		}
		const left = await query(witness.url, "select 1 from pg_database where datname = $1", [databaseOf(doomed.url)]);
		expect(left).toEqual([]);
		await expect(query(doomed.url, "select 1")).rejects.toMatchObject({ code: "3D000" });
	});
});

describe.skipIf(envDatabaseUrl())("a server started without the global setup", () => {
	it("accepts connections until stopped", async () => {
		const server = await startTestServer();
		try {
			const [row] = await query<{ v: string }>(server.adminUrl, "select current_setting('server_version_num') as v");
			expect(Number(row.v)).toBeGreaterThanOrEqual(130000);
		} finally {
			await server.stop();
		}
		const port = Number(new URL(server.adminUrl).port);
		expect(await portOpen(port)).toBe(false);
	});
});
