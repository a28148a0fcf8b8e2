import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import { TransactionRolledBackError } from "@authpg/core";
import { Client, Pool, type PoolClient } from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDriver, poolDriver } from "../src/index.js";

// The file has a database of its own, so a fixed schema name cannot collide with another run.
const schema = "authpg_pool";
const items = `"${schema}".items`;

let database: TestDatabase;
let url: string;
let admin: Client;

beforeAll(async () => {
	database = await startTestDatabase({ prefix: "pool" });
	url = database.url;
	admin = new Client({ connectionString: url });
	await admin.connect();
	await admin.query(`create schema "${schema}"`);
	await admin.query(`create table ${items} (id serial primary key, label text not null unique)`);
});

afterAll(async () => {
	await admin?.end();
	await database?.close();
});

beforeEach(async () => {
	await admin.query(`truncate ${items} restart identity`);
});

async function labels(): Promise<string[]> {
	const { rows } = await admin.query(`select label from ${items} order by id`);
	return rows.map((row) => row.label);
}

/** Records the config of every statement sent by the pool's clients. */
function recordStatements(pool: Pool): unknown[] {
	const configs: unknown[] = [];
	pool.on("connect", (client: PoolClient) => {
		const original = client.query.bind(client) as (...args: unknown[]) => unknown;
		(client as unknown as { query: unknown }).query = (...args: unknown[]) => {
			configs.push(args[0]);
			return original(...args);
		};
	});
	return configs;
}

const pid = "select pg_backend_pid() as pid";

describe("pool driver", () => {
	it("runs single statements and hands back timestamptz as Date, jsonb parsed, arrays as arrays", async () => {
		const driver = createDriver(url);
		try {
			const { rows } = await driver.query<Record<string, unknown>>(
				"select $1::timestamptz as at, $2::jsonb as doc, $3::text[] as tags, $4::int8[] as nums, $5::int8 as big",
				["2024-05-06T07:08:09.123Z", JSON.stringify({ a: [1, "x"] }), ["a", "b,c"], ["1", "9007199254740993"], "42"],
			);
			expect((rows[0].at as Date).toISOString()).toBe("2024-05-06T07:08:09.123Z");
			expect(rows[0].doc).toEqual({ a: [1, "x"] });
			expect(rows[0].tags).toEqual(["a", "b,c"]);
			expect(rows[0].nums).toEqual(["1", "9007199254740993"]);
			expect(rows[0].big).toBe("42");
			const insert = await driver.query(`insert into ${items} (label) values ($1), ($2)`, ["a", "b"]);
			expect(insert.rowCount).toBe(2);
		} finally {
			await driver.close();
		}
	});

	it("keeps the connection after an SQL error in a single statement", async () => {
		const pool = new Pool({ connectionString: url, max: 1 });
		const driver = poolDriver(pool);
		try {
			const before = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			await driver.query(`insert into ${items} (label) values ($1)`, ["dup"]);
			await expect(driver.query(`insert into ${items} (label) values ($1)`, ["dup"])).rejects.toMatchObject({
				code: "23505",
			});
			const after = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			// pool.query would have destroyed the client on the unique violation.
			expect(after).toBe(before);
		} finally {
			await pool.end();
		}
	});

	it("commits a transaction, and runs concurrent transactions on separate clients", async () => {
		const driver = createDriver({ connectionString: url, max: 4 });
		try {
			let firstInside!: () => void;
			const firstIsInside = new Promise<void>((resolve) => {
				firstInside = resolve;
			});
			// The first transaction waits for the second to start: a driver that serialised them would hang.
			const first = driver.transaction(async (tx) => {
				await tx.query(`insert into ${items} (label) values ($1)`, ["first"]);
				firstInside();
				await secondStarted;
				return (await tx.query<{ pid: number }>(pid, [])).rows[0].pid;
			});
			let markSecond!: () => void;
			const secondStarted = new Promise<void>((resolve) => {
				markSecond = resolve;
			});
			await firstIsInside;
			const second = driver.transaction(async (tx) => {
				markSecond();
				await tx.query(`insert into ${items} (label) values ($1)`, ["second"]);
				return (await tx.query<{ pid: number }>(pid, [])).rows[0].pid;
			});
			const [a, b] = await Promise.all([first, second]);
			expect(a).not.toBe(b);
			expect((await labels()).sort()).toEqual(["first", "second"]);
		} finally {
			await driver.close();
		}
	});

	it("rolls back and rethrows when the callback throws, and releases the client", async () => {
		const pool = new Pool({ connectionString: url, max: 1 });
		const driver = poolDriver(pool);
		try {
			const boom = new Error("boom");
			await expect(
				driver.transaction(async (tx) => {
					await tx.query(`insert into ${items} (label) values ($1)`, ["doomed"]);
					throw boom;
				}),
			).rejects.toBe(boom);
			expect(await labels()).toEqual([]);
			expect(pool.totalCount).toBe(1);
			expect(pool.idleCount).toBe(1);
			// With max 1, this only resolves if the transaction's client went back to the pool.
			const { rows } = await driver.query<{ n: number }>("select 1 as n", []);
			expect(rows).toEqual([{ n: 1 }]);
		} finally {
			await pool.end();
		}
	});

	it("releases the client after an SQL error inside a transaction, without destroying it", async () => {
		const pool = new Pool({ connectionString: url, max: 1 });
		const driver = poolDriver(pool);
		try {
			const before = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			await expect(driver.transaction((tx) => tx.query("select 1/0", []))).rejects.toThrow(/division by zero/);
			expect(pool.idleCount).toBe(1);
			const after = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			expect(after).toBe(before);
		} finally {
			await pool.end();
		}
	});

	it("destroys the client when its connection died inside a transaction", async () => {
		const pool = new Pool({ connectionString: url, max: 1 });
		const driver = poolDriver(pool);
		try {
			const before = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			await expect(
				driver.transaction(async (tx) => {
					await tx.query("select pg_terminate_backend(pg_backend_pid())", []);
				}),
			).rejects.toThrow();
			expect(pool.totalCount).toBe(0);
			const after = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			expect(after).not.toBe(before);
		} finally {
			await pool.end();
		}
	});

	it("destroys the client after a timeout left its connection busy", async () => {
		const pool = new Pool({
			connectionString: url,
			max: 1,
			query_timeout: 100,
		});
		const driver = poolDriver(pool);
		try {
			const before = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			await expect(driver.query("select pg_sleep(2)", [])).rejects.toThrow(/timeout/);
			// pg still thinks the connection is fine; only the driver knows the statement is still running.
			expect(pool.totalCount).toBe(0);
			const after = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			expect(after).not.toBe(before);
		} finally {
			await pool.end();
		}
	});

	it("rolls a failed savepoint back and keeps the outer work", async () => {
		const driver = createDriver(url);
		try {
			await driver.transaction(async (tx) => {
				await tx.query(`insert into ${items} (label) values ($1)`, ["outer-1"]);
				await expect(
					tx.transaction(async (inner) => {
						await inner.query(`insert into ${items} (label) values ($1)`, ["inner-lost"]);
						await inner.query(`insert into ${items} (label) values ($1)`, ["outer-1"]); // unique violation
					}),
				).rejects.toMatchObject({ code: "23505" });
				await tx.transaction((inner) => inner.query(`insert into ${items} (label) values ($1)`, ["inner-kept"]));
				await tx.query(`insert into ${items} (label) values ($1)`, ["outer-2"]);
			});
			expect(await labels()).toEqual(["outer-1", "inner-kept", "outer-2"]);
		} finally {
			await driver.close();
		}
	});

	it("reports a commit that Postgres turned into a rollback", async () => {
		const driver = createDriver(url);
		try {
			await expect(
				driver.transaction(async (tx) => {
					await tx.query(`insert into ${items} (label) values ($1)`, ["lost"]);
					await tx.query("select 1/0", []).catch(() => {});
				}),
			).rejects.toBeInstanceOf(TransactionRolledBackError);
			expect(await labels()).toEqual([]);
		} finally {
			await driver.close();
		}
	});

	it("reuses a named prepared statement on a pooled connection, and bounds the names per connection", async () => {
		const driver = createDriver({ connectionString: url, max: 1 }, { maxPreparedStatements: 2 });
		try {
			expect(driver.capabilities.preparedStatements).toBe(true);
			for (const label of ["a", "b", "c"]) {
				await driver.query(`insert into ${items} (label) values ($1)`, [label], { name: "authpg_pool_ins" });
			}
			const executions = await driver.query(
				"select generic_plans + custom_plans as n from pg_prepared_statements where name = $1",
				["authpg_pool_ins"],
			);
			expect(executions.rows).toEqual([{ n: "3" }]);
			await driver.query("select 1 as one", [], { name: "authpg_pool_x" });
			await driver.query("select 2 as two", [], { name: "authpg_pool_y" });
			const { rows } = await driver.query<{ name: string }>(
				"select name from pg_prepared_statements where name like 'authpg_pool_%' order by name",
				[],
			);
			expect(rows.map((row) => row.name)).toEqual(["authpg_pool_x", "authpg_pool_y"]);
		} finally {
			await driver.close();
		}
	});

	it("sends no statement name when prepared statements are off", async () => {
		const pool = new Pool({ connectionString: url, max: 2 });
		const configs = recordStatements(pool);
		const driver = poolDriver(pool, { preparedStatements: false });
		try {
			expect(driver.capabilities.preparedStatements).toBe(false);
			await driver.query(`insert into ${items} (label) values ($1)`, ["x"], {
				name: "authpg_off_1",
			});
			await driver.transaction((tx) => tx.query("select 1", [], { name: "authpg_off_2" }));
			const { rows } = await driver.query("select name from pg_prepared_statements", []);
			expect(rows).toEqual([]);
			expect(configs.length).toBeGreaterThan(3);
			for (const config of configs) {
				expect((config as { name?: string }).name).toBeUndefined();
			}
		} finally {
			await pool.end();
		}
	});

	it("leaves a pool it does not own open, and refuses statements once closed", async () => {
		const pool = new Pool({ connectionString: url, max: 1 });
		const driver = poolDriver(pool);
		try {
			await driver.query("select 1", []);
			await driver.close();
			await driver.close();
			await expect(driver.query("select 1", [])).rejects.toThrow(/closed/);
			expect((await pool.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
		} finally {
			await pool.end();
		}
	});

	it("ends a pool it owns on close, once", async () => {
		const driver = createDriver(url);
		await driver.query("select 1", []);
		await Promise.all([driver.close(), driver.close()]);
		await expect(driver.transaction(async () => {})).rejects.toThrow(/closed/);
	});
});
