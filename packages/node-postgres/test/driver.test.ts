import { driverTestSchema, expectNoPreparedStatements } from "@authpg/conformance";
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import { createDriver, nodePostgresDriver } from "../src/index.js";

// The Driver contract itself (values, SQLSTATEs, transactions, savepoints, a finished tx) is the conformance
// suite's "Driver contract" block; this file keeps what is node-postgres's own: one client, shared in call order.
// The file has a database of its own, so a fixed schema name cannot collide with another run.
const schema = "authpg_np";
const db = driverTestSchema({ prefix: "node_postgres", schema });

/** A client whose `query` records how many calls were in flight at once and the configs it was given. */
function instrumented(config: string): {
	client: Client;
	maxInFlight: () => number;
	configs: unknown[];
} {
	const client = new Client({ connectionString: config });
	const original = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
	let inFlight = 0;
	let max = 0;
	const configs: unknown[] = [];
	(client as unknown as { query: unknown }).query = async (...args: unknown[]) => {
		inFlight++;
		max = Math.max(max, inFlight);
		configs.push(args[0]);
		try {
			return await original(...args);
		} finally {
			inFlight--;
		}
	};
	return { client, maxInFlight: () => max, configs };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("node-postgres driver", () => {
	it("a statement sent through the driver from inside its own transaction joins it; others wait", async () => {
		const driver = createDriver(db.url);
		try {
			let started!: () => void;
			const isStarted = new Promise<void>((resolve) => {
				started = resolve;
			});
			let release!: () => void;
			const released = new Promise<void>((resolve) => {
				release = resolve;
			});
			const failure = new Error("roll back");
			const transaction = driver.transaction(async (tx) => {
				await tx.query(`insert into ${db.items} (label) values ($1)`, ["via tx"]);
				// Through the driver itself, as a store shared with the application would: no deadlock, same transaction.
				await driver.query(`insert into ${db.items} (label) values ($1)`, ["via driver"]);
				const seen = await driver.query<{ n: number }>(`select count(*)::int as n from ${db.items}`, []);
				expect(seen.rows[0]?.n).toBe(2);
				started();
				await released;
				throw failure;
			});
			await isStarted;
			let outsideDone = false;
			const outside = driver.query<{ n: number }>(`select count(*)::int as n from ${db.items}`, []).then((r) => {
				outsideDone = true;
				return r;
			});
			await new Promise((resolve) => setTimeout(resolve, 50));
			expect(outsideDone).toBe(false);
			release();
			await expect(transaction).rejects.toBe(failure);
			expect((await outside).rows[0]?.n).toBe(0);
			expect(await db.labels()).toEqual([]);
		} finally {
			await driver.close();
		}
	});

	it("connects lazily, on the first statement", async () => {
		const appName = `authpg_lazy_${Math.random().toString(36).slice(2, 8)}`;
		const driver = createDriver({
			connectionString: db.url,
			application_name: appName,
		});
		const count = async () =>
			Number(
				(await db.admin.query("select count(*) from pg_stat_activity where application_name = $1", [appName])).rows[0]
					.count,
			);
		try {
			expect(await count()).toBe(0);
			await driver.query("select 1", []);
			expect(await count()).toBe(1);
		} finally {
			await driver.close();
		}
	});

	it("never has two statements in flight on the client, and runs them in call order", async () => {
		const probe = instrumented(db.url);
		const driver = nodePostgresDriver(probe.client, { ownsClient: true });
		try {
			await Promise.all(
				Array.from({ length: 40 }, (_, i) =>
					driver.query(`insert into ${db.items} (label) select $1 from pg_sleep($2)`, [
						`n${i}`,
						i % 3 === 0 ? 0.005 : 0,
					]),
				),
			);
			expect(probe.maxInFlight()).toBe(1);
			expect(await db.labels()).toEqual(Array.from({ length: 40 }, (_, i) => `n${i}`));
		} finally {
			await driver.close();
		}
	});

	it("holds outside callers while a transaction runs; they see its committed data", async () => {
		const driver = createDriver(db.url);
		try {
			const events: string[] = [];
			let inserted!: () => void;
			const insertedSignal = new Promise<void>((resolve) => {
				inserted = resolve;
			});
			const transaction = driver.transaction(async (tx) => {
				await tx.query(`insert into ${db.items} (label) values ($1)`, ["in-tx"]);
				inserted();
				await sleep(150);
				await tx.query(`insert into ${db.items} (label) values ($1)`, ["in-tx-2"]);
				events.push("tx body done");
			});
			await insertedSignal;
			const outside = driver.query<{ count: string }>(`select count(*) from ${db.items}`, []).then((result) => {
				events.push("outside done");
				return result;
			});
			await transaction;
			events.push("tx committed");
			const { rows } = await outside;
			expect(events).toEqual(["tx body done", "tx committed", "outside done"]);
			expect(rows[0].count).toBe("2");
		} finally {
			await driver.close();
		}
	});

	it("keeps at most maxPreparedStatements names, deallocating the least recently used", async () => {
		const driver = createDriver(db.url, { maxPreparedStatements: 2 });
		const prepared = async () =>
			(
				await driver.query<{ name: string }>(
					"select name from pg_prepared_statements where name like 'authpg_lru_%' order by name",
					[],
				)
			).rows.map((row) => row.name);
		try {
			await driver.query("select 1 as one", [], { name: "authpg_lru_a" });
			await driver.query("select 2 as two", [], { name: "authpg_lru_b" });
			await driver.query("select 1 as one", [], { name: "authpg_lru_a" }); // a is now the most recent
			await driver.query("select 3 as three", [], { name: "authpg_lru_c" });
			expect(await prepared()).toEqual(["authpg_lru_a", "authpg_lru_c"]);
			// An evicted name prepares again on its next use.
			const { rows } = await driver.query<{ two: number }>("select 2 as two", [], { name: "authpg_lru_b" });
			expect(rows).toEqual([{ two: 2 }]);
			expect(await prepared()).toEqual(["authpg_lru_b", "authpg_lru_c"]);
		} finally {
			await driver.close();
		}
	});

	it("sends no statement name when prepared statements are off", async () => {
		const probe = instrumented(db.url);
		const driver = nodePostgresDriver(probe.client, {
			ownsClient: true,
			preparedStatements: false,
		});
		try {
			await expectNoPreparedStatements(driver, probe.configs, db.items);
		} finally {
			await driver.close();
		}
	});

	it("opens a new connection after the old one was lost (owned client)", async () => {
		const driver = createDriver(db.url);
		try {
			const first = (await driver.query<{ pid: number }>("select pg_backend_pid() as pid", [])).rows[0].pid;
			await db.admin.query("select pg_terminate_backend($1)", [first]);
			await sleep(100);
			// The statement in flight when the socket dies may fail; the one after it must not.
			await driver.query("select 1", []).catch(() => {});
			const second = (await driver.query<{ pid: number }>("select pg_backend_pid() as pid", [])).rows[0].pid;
			expect(second).not.toBe(first);
		} finally {
			await driver.close();
		}
	});

	it("leaves a client it does not own open, and refuses statements once closed", async () => {
		const client = new Client({ connectionString: db.url });
		await client.connect();
		const driver = nodePostgresDriver(client);
		try {
			await driver.query("select 1", []);
			await driver.close();
			await driver.close();
			await expect(driver.query("select 1", [])).rejects.toThrow(/closed/);
			const { rows } = await client.query("select 1 as one");
			expect(rows).toEqual([{ one: 1 }]);
		} finally {
			await client.end();
		}
	});
});
