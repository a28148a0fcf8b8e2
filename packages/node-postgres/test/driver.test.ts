import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import { type Driver, kyselyDialect, TransactionRolledBackError } from "@authpg/core";
import { type Generated, Kysely } from "kysely";
import { Client } from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDriver, nodePostgresDriver } from "../src/index.js";

// The file has a database of its own, so a fixed schema name cannot collide with another run.
const schema = "authpg_np";
const items = `"${schema}".items`;

let database: TestDatabase;
let url: string;
let admin: Client;

beforeAll(async () => {
	database = await startTestDatabase({ prefix: "node_postgres" });
	url = database.url;
	admin = new Client({ connectionString: url });
	await admin.connect();
	await admin.query(`create schema "${schema}"`);
	await admin.query(`create table ${items} (id serial primary key, label text not null)`);
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
		const driver = createDriver(url);
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
				await tx.query(`insert into ${items} (label) values ($1)`, ["via tx"]);
				// Through the driver itself, as a store shared with the application would: no deadlock, same transaction.
				await driver.query(`insert into ${items} (label) values ($1)`, ["via driver"]);
				const seen = await driver.query<{ n: number }>(`select count(*)::int as n from ${items}`, []);
				expect(seen.rows[0]?.n).toBe(2);
				started();
				await released;
				throw failure;
			});
			await isStarted;
			let outsideDone = false;
			const outside = driver.query<{ n: number }>(`select count(*)::int as n from ${items}`, []).then((r) => {
				outsideDone = true;
				return r;
			});
			await new Promise((resolve) => setTimeout(resolve, 50));
			expect(outsideDone).toBe(false);
			release();
			await expect(transaction).rejects.toBe(failure);
			expect((await outside).rows[0]?.n).toBe(0);
			expect(await labels()).toEqual([]);
		} finally {
			await driver.close();
		}
	});

	it("connects lazily, on the first statement", async () => {
		const appName = `authpg_lazy_${Math.random().toString(36).slice(2, 8)}`;
		const driver = createDriver({
			connectionString: url,
			application_name: appName,
		});
		const count = async () =>
			Number(
				(await admin.query("select count(*) from pg_stat_activity where application_name = $1", [appName])).rows[0]
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
		const probe = instrumented(url);
		const driver = nodePostgresDriver(probe.client, { ownsClient: true });
		try {
			await Promise.all(
				Array.from({ length: 40 }, (_, i) =>
					driver.query(`insert into ${items} (label) select $1 from pg_sleep($2)`, [`n${i}`, i % 3 === 0 ? 0.005 : 0]),
				),
			);
			expect(probe.maxInFlight()).toBe(1);
			expect(await labels()).toEqual(Array.from({ length: 40 }, (_, i) => `n${i}`));
		} finally {
			await driver.close();
		}
	});

	it("holds outside callers while a transaction runs; they see its committed data", async () => {
		const driver = createDriver(url);
		try {
			const events: string[] = [];
			let inserted!: () => void;
			const insertedSignal = new Promise<void>((resolve) => {
				inserted = resolve;
			});
			const transaction = driver.transaction(async (tx) => {
				await tx.query(`insert into ${items} (label) values ($1)`, ["in-tx"]);
				inserted();
				await sleep(150);
				await tx.query(`insert into ${items} (label) values ($1)`, ["in-tx-2"]);
				events.push("tx body done");
			});
			await insertedSignal;
			const outside = driver.query<{ count: string }>(`select count(*) from ${items}`, []).then((result) => {
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

	it("rolls back and rethrows when the callback throws", async () => {
		const driver = createDriver(url);
		try {
			const boom = new Error("boom");
			await expect(
				driver.transaction(async (tx) => {
					await tx.query(`insert into ${items} (label) values ($1)`, ["doomed"]);
					throw boom;
				}),
			).rejects.toBe(boom);
			expect(await labels()).toEqual([]);
			// The connection is usable again, outside any transaction.
			const { rows } = await driver.query<{ now: string }>(
				"select current_setting('transaction_isolation') as now",
				[],
			);
			expect(rows).toHaveLength(1);
		} finally {
			await driver.close();
		}
	});

	it("rolls a failed savepoint back and keeps the outer work", async () => {
		const driver = createDriver(url);
		try {
			const result = await driver.transaction(async (tx) => {
				await tx.query(`insert into ${items} (label) values ($1)`, ["outer-1"]);
				await expect(
					tx.transaction(async (inner) => {
						await inner.query(`insert into ${items} (label) values ($1)`, ["inner-lost"]);
						await inner.query("select 1/0", []);
					}),
				).rejects.toThrow(/division by zero/);
				const kept = await tx.transaction(async (inner) => {
					await inner.query(`insert into ${items} (label) values ($1)`, ["inner-kept"]);
					return inner.transaction(async (deeper) => {
						await deeper.query(`insert into ${items} (label) values ($1)`, ["deeper-kept"]);
						return "deep";
					});
				});
				await tx.query(`insert into ${items} (label) values ($1)`, ["outer-2"]);
				return kept;
			});
			expect(result).toBe("deep");
			expect(await labels()).toEqual(["outer-1", "inner-kept", "deeper-kept", "outer-2"]);
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
					return "pretends to succeed";
				}),
			).rejects.toBeInstanceOf(TransactionRolledBackError);
			expect(await labels()).toEqual([]);
		} finally {
			await driver.close();
		}
	});

	it("refuses statements on a transaction's tx after it finished", async () => {
		const driver = createDriver(url);
		try {
			let leaked: Driver | undefined;
			await driver.transaction(async (tx) => {
				leaked = tx;
			});
			await expect(leaked?.query("select 1", [])).rejects.toThrow(/already finished/);
		} finally {
			await driver.close();
		}
	});

	it("reuses a named prepared statement", async () => {
		const driver = createDriver(url);
		try {
			expect(driver.capabilities.preparedStatements).toBe(true);
			const name = `authpg_t_${Math.random().toString(36).slice(2, 10)}`;
			for (const label of ["a", "b", "c"]) {
				await driver.query(`insert into ${items} (label) values ($1)`, [label], { name });
			}
			// pg_prepared_statements is per session: the driver's one connection answers for itself.
			const { rows } = await driver.query<{ executions: number }>(
				"select generic_plans + custom_plans as executions from pg_prepared_statements where name = $1",
				[name],
			);
			expect(rows).toEqual([{ executions: "3" }]);
			expect(await labels()).toEqual(["a", "b", "c"]);
		} finally {
			await driver.close();
		}
	});

	it("keeps at most maxPreparedStatements names, deallocating the least recently used", async () => {
		const driver = createDriver(url, { maxPreparedStatements: 2 });
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
		const probe = instrumented(url);
		const driver = nodePostgresDriver(probe.client, {
			ownsClient: true,
			preparedStatements: false,
		});
		try {
			expect(driver.capabilities.preparedStatements).toBe(false);
			await driver.query(`insert into ${items} (label) values ($1)`, ["x"], {
				name: "authpg_off_1",
			});
			await driver.transaction((tx) => tx.query("select 1", [], { name: "authpg_off_2" }));
			const { rows } = await driver.query("select name from pg_prepared_statements", []);
			expect(rows).toEqual([]);
			expect(probe.configs.length).toBeGreaterThan(3);
			for (const config of probe.configs) {
				expect((config as { name?: string }).name).toBeUndefined();
			}
		} finally {
			await driver.close();
		}
	});

	it("hands back timestamptz as Date, jsonb parsed, arrays as arrays", async () => {
		const driver = createDriver(url);
		try {
			const { rows } = await driver.query<Record<string, unknown>>(
				`select $1::timestamptz as at, $2::jsonb as doc, $3::text[] as tags, $4::int8[] as nums,
				        $5::int8 as big, true as yes, 7::int4 as small`,
				["2024-05-06T07:08:09.123Z", JSON.stringify({ a: [1, "x"] }), ["a", "b,c"], ["1", "9007199254740993"], "42"],
			);
			const row = rows[0];
			expect(row.at).toBeInstanceOf(Date);
			expect((row.at as Date).toISOString()).toBe("2024-05-06T07:08:09.123Z");
			expect(row.doc).toEqual({ a: [1, "x"] });
			expect(row.tags).toEqual(["a", "b,c"]);
			expect(row.nums).toEqual(["1", "9007199254740993"]);
			expect(row.big).toBe("42");
			expect(row.yes).toBe(true);
			expect(row.small).toBe(7);
		} finally {
			await driver.close();
		}
	});

	it("opens a new connection after the old one was lost (owned client)", async () => {
		const driver = createDriver(url);
		try {
			const first = (await driver.query<{ pid: number }>("select pg_backend_pid() as pid", [])).rows[0].pid;
			await admin.query("select pg_terminate_backend($1)", [first]);
			await sleep(100);
			// The statement in flight when the socket dies may fail; the one after it must not.
			await driver.query("select 1", []).catch(() => {});
			const second = (await driver.query<{ pid: number }>("select pg_backend_pid() as pid", [])).rows[0].pid;
			expect(second).not.toBe(first);
		} finally {
			await driver.close();
		}
	});

	it("holds outside statements until a Kysely transaction on it commits", async () => {
		const driver = createDriver(url);
		const db = new Kysely<{ items: { id: Generated<number>; label: string } }>({
			dialect: kyselyDialect(driver),
		}).withSchema(schema);
		try {
			const order: string[] = [];
			let inside!: () => void;
			const isInside = new Promise<void>((resolve) => {
				inside = resolve;
			});
			const trx = db.transaction().execute(async (t) => {
				await t.insertInto("items").values({ label: "tx" }).execute();
				inside();
				await sleep(100);
				order.push("tx body done");
			});
			await isInside;
			const outside = db
				.selectFrom("items")
				.select("label")
				.execute()
				.then((rows) => {
					order.push("outside done");
					return rows;
				});
			await trx;
			// One connection: had the outside select not waited, it would have run inside the transaction.
			expect(await outside).toEqual([{ label: "tx" }]);
			expect(order).toEqual(["tx body done", "outside done"]);
		} finally {
			await db.destroy();
			await driver.close();
		}
	});

	it("leaves a client it does not own open, and refuses statements once closed", async () => {
		const client = new Client({ connectionString: url });
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
