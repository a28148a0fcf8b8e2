import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import { configureNeon, type NeonLocal, startNeonLocal } from "@authpg/conformance/neon";
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { betterAuth } from "better-auth";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createDriver, createStores, fromClient, TransactionsUnavailableError } from "../src/index.js";

// The Driver contract itself (values over HTTP and over WebSocket, SQLSTATEs, transactions, savepoints) is the
// conformance suite's "Driver contract" block, run by both neon targets; this file keeps Neon's own transports.
let database: TestDatabase;
let local: NeonLocal;

beforeAll(async () => {
	[database, local] = await Promise.all([startTestDatabase({ prefix: "neon" }), startNeonLocal()]);
	configureNeon(neonConfig, local);
});

afterAll(async () => {
	await local?.close();
	await database?.close();
});

/** How many HTTP requests and WebSocket connections `work` caused. */
async function traffic(work: () => Promise<unknown>): Promise<{ http: number; ws: number }> {
	const http = local.http.requests;
	const ws = local.relay.totalConnections;
	await work();
	return { http: local.http.requests - http, ws: local.relay.totalConnections - ws };
}

const valuesSql =
	"select $1::timestamptz as at, $2::jsonb as doc, $3::text[] as tags, $4::int8[] as nums, $5::int8 as big, " +
	"(select count(*) from generate_series(1, 3)) as n, $6::boolean as flag";
const valuesParams = [
	new Date("2024-05-06T07:08:09.123Z"),
	JSON.stringify({ a: [1, "x"] }),
	["a", "b,c", 'q"uote', "{brace}"],
	[1, "9007199254740993"],
	"42",
	false,
];

function expectContractValues(row: Record<string, unknown>): void {
	expect(row.at).toBeInstanceOf(Date);
	expect((row.at as Date).toISOString()).toBe("2024-05-06T07:08:09.123Z");
	expect(row.doc).toEqual({ a: [1, "x"] });
	expect(row.tags).toEqual(["a", "b,c", 'q"uote', "{brace}"]);
	expect(row.nums).toEqual(["1", "9007199254740993"]);
	expect(row.big).toBe("42");
	expect(row.n).toBe("3");
	expect(row.flag).toBe(false);
}

describe("neon driver", () => {
	it("sends single statements over HTTP and opens the WebSocket Pool only for the first transaction", async () => {
		const driver = createDriver(database.url);
		try {
			expect(driver.name).toBe("neon-http");
			expect(await traffic(() => driver.query("select 1", []))).toEqual({ http: 1, ws: 0 });
			const tx = await traffic(() =>
				driver.transaction(async (tx) => {
					await tx.query("create table neon_tx (id int)", []);
					await tx.query("insert into neon_tx values ($1)", [1]);
				}),
			);
			expect(tx).toEqual({ http: 0, ws: 1 });
			const { rows } = await driver.query<{ id: number }>("select id from neon_tx", []);
			expect(rows).toEqual([{ id: 1 }]);
			await expect(
				driver.transaction(async (tx) => {
					await tx.query("insert into neon_tx values ($1)", [2]);
					throw new Error("abort");
				}),
			).rejects.toThrow("abort");
			expect((await driver.query("select id from neon_tx", [])).rowCount).toBe(1);
		} finally {
			await driver.close();
		}
		// close() ended the Pool, so the relay has no connection left.
		await vi.waitFor(() => expect(local.relay.openConnections).toBe(0));
	});

	it("keeps the contract whatever options the application gave its own neon()", async () => {
		const sql = neon(database.url, { arrayMode: true, fullResults: false });
		const pool = new Pool({ connectionString: database.url });
		const stores = fromClient(sql, { pool });
		try {
			const { rows } = await stores.driver.query<Record<string, unknown>>(valuesSql, valuesParams);
			expectContractValues(rows[0]);
			const write = await stores.driver.query("select * from generate_series(1, 4)", []);
			expect(write.rowCount).toBe(4);
		} finally {
			await stores.close();
		}
		// fromClient leaves the application's Pool open.
		expect((await pool.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
		await pool.end();
	});

	it("prepares named statements on WebSocket connections only when asked", async () => {
		const prepared = "select count(*) as n from pg_prepared_statements where name = $1";
		for (const preparedStatements of [false, true]) {
			const driver = createDriver(database.url, { statements: "websocket", preparedStatements, pool: { max: 1 } });
			try {
				expect(driver.capabilities.preparedStatements).toBe(preparedStatements);
				await driver.query("select $1::int as x", [1], { name: "authpg_neon_probe" });
				const { rows } = await driver.query<{ n: string }>(prepared, ["authpg_neon_probe"]);
				expect(rows[0].n).toBe(preparedStatements ? "1" : "0");
			} finally {
				await driver.close();
			}
		}
	});

	it("refuses a text of several statements over HTTP, with its SQLSTATE", async () => {
		const driver = createDriver(database.url);
		try {
			await expect(driver.query("select 1; select 2", [])).rejects.toMatchObject({ code: "42601" });
		} finally {
			await driver.close();
		}
	});

	it("hands the common store options to the core (secondaryStorage)", async () => {
		const plain = createStores({ connectionString: database.url });
		const withStorage = createStores({ connectionString: database.url, secondaryStorage: true });
		try {
			const secondary = (stores: typeof plain) =>
				(stores.applyTo({}) as { secondaryStorage?: unknown }).secondaryStorage;
			expect(secondary(plain)).toBeUndefined();
			expect(secondary(withStorage)).toBe(withStorage.secondaryStorage);
		} finally {
			await Promise.all([plain.close(), withStorage.close()]);
		}
	});

	it("fromClient needs a Pool, or an explicit webSocket: false", () => {
		expect(() => fromClient(neon(database.url))).toThrow(/webSocket: false/);
	});

	it("webSocket: false runs Better Auth without transactions, and warns once", async () => {
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		const stores = createStores({ connectionString: database.url, schema: "neon_nows", webSocket: false });
		const again = fromClient(neon(database.url), { webSocket: false });
		try {
			expect(warn).toHaveBeenCalledTimes(1);
			expect(String(warn.mock.calls[0][0])).toMatch(/without transactions/);
			expect(stores.driver.capabilities.transactions).toBe(false);
			await expect(stores.driver.transaction(async () => {})).rejects.toBeInstanceOf(TransactionsUnavailableError);

			const options = { emailAndPassword: { enabled: true }, secret: "x".repeat(32), baseURL: "http://localhost" };
			const used = await traffic(async () => {
				await stores.migrate(options);
				const auth = betterAuth(stores.applyTo(options));
				const signUp = await auth.api.signUpEmail({
					body: { email: "nows@example.com", password: "correct horse battery", name: "No WS" },
				});
				expect(signUp.user.email).toBe("nows@example.com");
			});
			expect(used.ws).toBe(0);
			expect(used.http).toBeGreaterThan(0);
		} finally {
			await Promise.all([stores.close(), again.close()]);
			warn.mockRestore();
		}
	});
});

describe("local Neon endpoints (test harness)", () => {
	it("runs a neon() batch as one transaction: committed together, or rolled back together", async () => {
		const sql = neon(database.url);
		await sql`create table neon_batch (id int primary key)`;
		const [inserted, counted] = await sql.transaction(
			[sql`insert into neon_batch values (1), (2) returning id`, sql`select count(*)::int as n from neon_batch`],
			{ isolationLevel: "Serializable", readOnly: false },
		);
		expect(inserted).toEqual([{ id: 1 }, { id: 2 }]);
		expect(counted).toEqual([{ n: 2 }]);
		await expect(
			sql.transaction([sql`insert into neon_batch values (3)`, sql`insert into neon_batch values (1)`]),
		).rejects.toMatchObject({ code: "23505" });
		expect(await sql`select id from neon_batch order by id`).toEqual([{ id: 1 }, { id: 2 }]);
		await expect(sql.transaction([sql`insert into neon_batch values (4)`], { readOnly: true })).rejects.toMatchObject({
			code: "25006",
		});
	});

	it("relays a WebSocket connection until either side closes it", async () => {
		const pool = new Pool({ connectionString: database.url });
		const client = await pool.connect();
		// The terminated connection reports its end as an 'error' event on the checked-out client.
		client.on("error", () => {});
		try {
			const { rows } = await client.query("select current_database() as db");
			expect(database.url).toContain(rows[0].db);
			expect(local.relay.openConnections).toBeGreaterThan(0);
			// Postgres closes the TCP side; the relay must then close the WebSocket too.
			await client.query("select pg_terminate_backend(pg_backend_pid())").catch(() => {});
			await vi.waitFor(() => expect(local.relay.openConnections).toBe(0));
		} finally {
			client.release(true);
			await pool.end();
		}
	});
});
