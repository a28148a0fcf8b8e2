import { driverTestSchema, expectNoPreparedStatements } from "@authpg/conformance";
import { Pool, type PoolClient } from "pg";
import { describe, expect, it } from "vitest";
import { createDriver, poolDriver } from "../src/index.js";

// The Driver contract itself (values, SQLSTATEs, transactions, savepoints) is the conformance suite's
// "Driver contract" block; this file keeps what is the pool's own: clients checked out, released, destroyed.
// The file has a database of its own, so a fixed schema name cannot collide with another run.
const db = driverTestSchema({ prefix: "pool", schema: "authpg_pool" });

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
	it("keeps the connection after an SQL error in a single statement", async () => {
		const pool = new Pool({ connectionString: db.url, max: 1 });
		const driver = poolDriver(pool);
		try {
			const before = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			await driver.query(`insert into ${db.items} (label) values ($1)`, ["dup"]);
			await expect(driver.query(`insert into ${db.items} (label) values ($1)`, ["dup"])).rejects.toMatchObject({
				code: "23505",
			});
			const after = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			// pool.query would have destroyed the client on the unique violation.
			expect(after).toBe(before);
		} finally {
			await pool.end();
		}
	});

	it("releases the client, without destroying it, after the callback throws or a statement fails in a transaction", async () => {
		const pool = new Pool({ connectionString: db.url, max: 1 });
		const driver = poolDriver(pool);
		try {
			const before = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			const boom = new Error("boom");
			await expect(
				driver.transaction(async (tx) => {
					await tx.query(`insert into ${db.items} (label) values ($1)`, ["doomed"]);
					throw boom;
				}),
			).rejects.toBe(boom);
			expect(pool.totalCount).toBe(1);
			expect(pool.idleCount).toBe(1);
			await expect(driver.transaction((tx) => tx.query("select 1/0", []))).rejects.toThrow(/division by zero/);
			expect(pool.totalCount).toBe(1);
			expect(pool.idleCount).toBe(1);
			// With max 1, this only resolves if the transaction's client went back to the pool.
			const after = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			expect(after).toBe(before);
			expect(await db.labels()).toEqual([]);
		} finally {
			await pool.end();
		}
	});

	it("destroys the client when its connection died inside a transaction", async () => {
		const pool = new Pool({ connectionString: db.url, max: 1 });
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
			connectionString: db.url,
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

	it("reuses a named prepared statement on a pooled connection, and bounds the names per connection", async () => {
		const driver = createDriver({ connectionString: db.url, max: 1 }, { maxPreparedStatements: 2 });
		try {
			expect(driver.capabilities.preparedStatements).toBe(true);
			for (const label of ["a", "b", "c"]) {
				await driver.query(`insert into ${db.items} (label) values ($1)`, [label], { name: "authpg_pool_ins" });
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
		const pool = new Pool({ connectionString: db.url, max: 2 });
		const configs = recordStatements(pool);
		const driver = poolDriver(pool, { preparedStatements: false });
		try {
			await expectNoPreparedStatements(driver, configs, db.items);
		} finally {
			await pool.end();
		}
	});

	it("leaves a pool it does not own open, and refuses statements once closed", async () => {
		const pool = new Pool({ connectionString: db.url, max: 1 });
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
		const driver = createDriver(db.url);
		await driver.query("select 1", []);
		await Promise.all([driver.close(), driver.close()]);
		await expect(driver.transaction(async () => {})).rejects.toThrow(/closed/);
	});
});
