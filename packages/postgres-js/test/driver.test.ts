import { driverTestSchema } from "@authpg/conformance";
import { type Driver, TransactionRolledBackError } from "@authpg/core";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { createDriver, createStores, fromClient, postgresJsDriver } from "../src/index.js";
import { postgresJsMajor } from "../src/major.js";
import { templateOf } from "../src/send.js";

// The Driver contract itself (values, SQLSTATEs, affected rows, transactions, savepoints, a finished tx) is
// the conformance suite's "Driver contract" block; this file keeps what is postgres.js's own: its parsers and
// parameter typing, an application's instance, connections lost mid-transaction, statement naming, lifecycle.
// The file has a database of its own, so a fixed schema name cannot collide with another run.
const schema = "authpg_pgjs";
const db = driverTestSchema({
	prefix: "postgres_js",
	schema,
	tables: {
		items: "id serial primary key, label text not null unique, doc jsonb",
		keyed: "id uuid primary key, n integer not null, big bigint, tags text[], at timestamptz",
	},
});

/** Connections open to the test database under `name` (postgres.js connects lazily, so this counts real use). */
async function connectionsNamed(name: string): Promise<number> {
	const { rows } = await db.admin.query<{ n: number }>(
		"select count(*)::int as n from pg_stat_activity where application_name = $1",
		[name],
	);
	return rows[0]?.n ?? 0;
}

/** Wait until `name` has `n` connections: a backend leaves pg_stat_activity a moment after its client hung up. */
async function expectConnections(name: string, n: number): Promise<void> {
	const deadline = Date.now() + 5000;
	let seen = await connectionsNamed(name);
	while (seen !== n && Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 20));
		seen = await connectionsNamed(name);
	}
	expect(seen).toBe(n);
}

const pid = "select pg_backend_pid() as pid";

/** The major of the installed postgres.js (the suite runs on 3.4.x and 4.x alike); creating an instance connects nothing. */
const major = postgresJsMajor(postgres({ max: 1 }));

/**
 * A dropped connection: postgres.js 4 reports the FATAL the server sent before it closed the connection
 * (57P01 for pg_terminate_backend); 3.x reports a close. Either may see the socket reset first (ECONNRESET).
 */
const connectionGone = {
	code: expect.stringMatching(
		major === 4 ? /^(57P01|CONNECTION_CLOSED|ECONNRESET)$/ : /^(CONNECTION_CLOSED|ECONNRESET)$/,
	),
};

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
	let resolve!: (value: T) => void;
	const promise = new Promise<T>((r) => {
		resolve = r;
	});
	return { promise, resolve };
}

/**
 * The error `promise` rejects with, observed from now on: a transaction whose connection is killed may
 * reject before the test gets to await it, which would otherwise count as an unhandled rejection.
 */
function failure(promise: Promise<unknown>): Promise<unknown> {
	return promise.then(
		() => {
			throw new Error("expected the call to fail");
		},
		(error: unknown) => error,
	);
}

async function withDriver(driver: Driver, fn: (driver: Driver) => Promise<void>): Promise<void> {
	try {
		await fn(driver);
	} finally {
		await driver.close();
	}
}

describe("postgres.js driver: values", () => {
	it("parses timestamps Date.parse gets wrong: early years, BC, second offsets, infinity, microseconds", async () => {
		await withDriver(createDriver({ connectionString: db.url, max: 1 }), async (driver) => {
			await driver.query("set timezone to 'Asia/Kolkata'", []);
			const { rows } = await driver.query<Record<string, unknown>>(
				`select '0099-03-04 05:06:07+00'::timestamptz as early, '0044-03-15 12:00:00+00 BC'::timestamptz as bc,
				        '2024-01-01 00:00:00.123456+00'::timestamptz as micro, 'infinity'::timestamptz as inf,
				        '-infinity'::timestamptz as ninf, '1900-01-01 00:00:00+00'::timestamptz as lmt`,
				[],
			);
			const row = rows[0];
			expect((row.early as Date).toISOString()).toBe("0099-03-04T05:06:07.000Z");
			expect((row.bc as Date).toISOString()).toBe("-000043-03-15T12:00:00.000Z");
			expect((row.micro as Date).toISOString()).toBe("2024-01-01T00:00:00.123Z");
			expect(row.inf).toBe(Number.POSITIVE_INFINITY);
			expect(row.ninf).toBe(Number.NEGATIVE_INFINITY);
			// Asia/Kolkata in 1900 was +05:53:28 local mean time: an offset with seconds on the wire.
			expect((row.lmt as Date).toISOString()).toBe("1900-01-01T00:00:00.000Z");
		});
	});

	it("sends Dates, arrays, numbers, booleans, null and JSON text so Postgres infers each type", async () => {
		await withDriver(createDriver(db.url), async (driver) => {
			const at = new Date("2023-12-31T23:59:59.999Z");
			const ids = ["00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"];
			await driver.query(`insert into "${schema}".keyed (id, n, big, tags, at) values ($1, $2, $3, $4, $5)`, [
				ids[0],
				1,
				9007199254740991,
				["x", "y,z"],
				at,
			]);
			await driver.query(`insert into "${schema}".keyed (id, n, big, tags, at) values ($1, $2, $3, $4, $5)`, [
				ids[1],
				2,
				null,
				[],
				null,
			]);
			// A JSON text for a jsonb column is stored as the document, not as a JSON string.
			await driver.query(`insert into ${db.items} (label, doc) values ($1, $2)`, ["j", JSON.stringify({ a: 1 })]);
			const doc = await driver.query<{ kind: string }>(`select jsonb_typeof(doc) as kind from ${db.items}`, []);
			expect(doc.rows).toEqual([{ kind: "object" }]);

			const keyed = `"${schema}".keyed`;
			const byUuid = await driver.query<{ n: number }>(`select n from ${keyed} where id = any($1) order by n`, [ids]);
			expect(byUuid.rows).toEqual([{ n: 1 }, { n: 2 }]);
			const byInt = await driver.query<{ n: number }>(`select n from ${keyed} where n = any($1) order by n`, [[2, 3]]);
			expect(byInt.rows).toEqual([{ n: 2 }]);
			const byText = await driver.query<{ n: number }>(`select n from ${keyed} where tags[1] = any($1)`, [["x"]]);
			expect(byText.rows).toEqual([{ n: 1 }]);
			const none = await driver.query<{ n: number }>(`select n from ${keyed} where n = any($1)`, [[]]);
			expect(none.rows).toEqual([]);
			const notIn = await driver.query<{ n: number }>(`select n from ${keyed} where id <> all($1) order by n`, [
				[ids[0]],
			]);
			expect(notIn.rows).toEqual([{ n: 2 }]);
			const notInEmpty = await driver.query(`select n from ${keyed} where n <> all($1)`, [[]]);
			expect(notInEmpty.rowCount).toBe(2);
			const byDate = await driver.query<{ n: number; at: Date }>(`select n, at from ${keyed} where at = $1`, [at]);
			expect(byDate.rows).toEqual([{ n: 1, at }]);
			const byBool = await driver.query<{ b: boolean }>("select $1::bool and not $2::bool as b", [true, false]);
			expect(byBool.rows).toEqual([{ b: true }]);
			const byBig = await driver.query<{ big: string }>(`select big from ${keyed} where big = $1`, [9007199254740991n]);
			expect(byBig.rows).toEqual([{ big: "9007199254740991" }]);
			const nulls = await driver.query(`select n from ${keyed} where big is not distinct from $1`, [undefined]);
			expect(nulls.rows).toEqual([{ n: 2 }]);
		});
	});

	it("returns the last result of a parameterless multi-statement text", async () => {
		await withDriver(createDriver(db.url), async (driver) => {
			await driver.query(`insert into ${db.items} (label) values ($1), ($2), ($3)`, ["a", "b", "c"]);
			const multi = await driver.query(
				`update ${db.items} set label = label || '!' where label <> 'a'; select label from ${db.items} order by id`,
				[],
			);
			expect(multi.rows).toEqual([{ label: "a" }, { label: "b!" }, { label: "c!" }]);
			expect(multi.rowCount).toBe(3);
		});
	});
});

describe("postgres.js driver: an application's instance", () => {
	it("reads the same values whatever the instance's own types and value transforms say", async () => {
		const sql = postgres(db.url, {
			max: 2,
			fetch_types: false,
			types: {
				bigint: postgres.BigInt,
				// An application that wants dates and JSON left as text.
				date: { to: 1184, from: [1082, 1114, 1184], serialize: (x: string) => x, parse: (x: string) => `date:${x}` },
				json: { to: 114, from: [114, 3802], serialize: (x: unknown) => x, parse: (x: string) => `json:${x}` },
				// Types whose postgres.js parser the driver otherwise adopts (it decodes them from the wire bytes).
				int: { to: 23, from: [23], serialize: (x: number) => String(x), parse: (x: string) => `int:${x}` },
				flag: { to: 16, from: [16], serialize: (x: boolean) => (x ? "t" : "f"), parse: (x: string) => `bool:${x}` },
			},
			transform: { value: { from: (value: unknown) => (typeof value === "string" ? value.toUpperCase() : value) } },
		});
		try {
			const driver = postgresJsDriver(sql);
			const { rows } = await driver.query<Record<string, unknown>>(
				"select $1::timestamptz as at, $2::jsonb as doc, $3::int8 as big, $4::text[] as tags, $5::bool as yes, $6::int4 as n",
				[new Date("2024-05-06T07:08:09.123Z"), JSON.stringify({ a: "b" }), "42", ["x", "y"], false, 7],
			);
			expect(rows).toEqual([
				{ at: new Date("2024-05-06T07:08:09.123Z"), doc: { a: "b" }, big: "42", tags: ["x", "y"], yes: false, n: 7 },
			]);
			// The application's own queries still get what it asked for.
			const [own] = await sql`select ${"7"}::int8 as big, 'abc'::text as t`;
			expect(own).toEqual({ big: 7n, t: "ABC" });
			await driver.close();
			// Still open, still with its own types (and transform).
			expect((await sql`select 1 as one`)[0]).toEqual({ one: "INT:1" });
		} finally {
			await sql.end();
		}
	});

	it(
		major === 4
			? "keeps column names for an instance that renames them (postgres.camel), on the instance's own connections"
			: "keeps column names for an instance that renames them (postgres.camel) on a derived instance that close() ends",
		async () => {
			// A derived instance (3.x) keeps the application's connection options, application_name included.
			const app = "authpg-camel-app";
			const sql = postgres(db.url, { max: 1, transform: postgres.camel, connection: { application_name: app } });
			try {
				const [own] = await sql`select 1 as user_id`;
				expect(own).toEqual({ userId: 1 });
				expect(await connectionsNamed(app)).toBe(1);

				const stores = fromClient(sql);
				const { rows } = await stores.driver.query<Record<string, unknown>>(
					`select 1 as user_id, $1::jsonb as doc, now() as "createdAt", pg_backend_pid() as pid`,
					[JSON.stringify({ nested_key: true })],
				);
				expect(rows[0].user_id).toBe(1);
				expect(rows[0].doc).toEqual({ nested_key: true });
				expect(rows[0].createdAt).toBeInstanceOf(Date);
				await stores.driver.transaction(async (tx) => {
					expect((await tx.query<Record<string, unknown>>("select 2 as some_value", [])).rows).toEqual([
						{ some_value: 2 },
					]);
				});
				const [{ pid: appPid }] = await sql`select pg_backend_pid() as pid`;
				if (major === 4) {
					// postgres.js 4 reads the driver's results without the transform (`.transform(false)`): one pool.
					expect(rows[0].pid).toBe(appPid);
					expect(await connectionsNamed(app)).toBe(1);
				} else {
					// One connection of the application's, one of the derived instance (max: 1 as well).
					expect(rows[0].pid).not.toBe(appPid);
					expect(await connectionsNamed(app)).toBe(2);
				}

				await stores.close();
				await expectConnections(app, 1);
				const [again] = await sql`select 3 as still_open`;
				expect(again).toEqual({ stillOpen: 3 });
			} finally {
				await sql.end();
			}
		},
	);

	it("uses the application's connections when the instance renames nothing, and leaves them open", async () => {
		const app = "authpg-shared-app";
		const sql = postgres(db.url, { max: 1, connection: { application_name: app } });
		try {
			const stores = fromClient(sql);
			const [{ pid: appPid }] = await sql`select pg_backend_pid() as pid`;
			const { rows } = await stores.driver.query<{ pid: number }>(pid, []);
			expect(rows[0].pid).toBe(appPid);
			await stores.close();
			await stores.close();
			await expect(stores.driver.query("select 1", [])).rejects.toThrow(/closed/);
			await expectConnections(app, 1);
			expect((await sql`select 1 as one`)[0]).toEqual({ one: 1 });
		} finally {
			await sql.end();
		}
	});
});

describe("postgres.js driver: transactions", () => {
	it("fails a transaction whose connection died, sends nothing more on it, and recovers", async () => {
		await withDriver(createDriver({ connectionString: db.url, max: 1 }), async (driver) => {
			const before = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			let killed: unknown;
			let afterwards: unknown;
			let nested: unknown;
			const callback = deferred<void>();
			await expect(
				driver.transaction(async (tx) => {
					await tx.query(`insert into ${db.items} (label) values ($1)`, ["gone"]);
					killed = await tx.query("select pg_terminate_backend(pg_backend_pid())", []).catch((e: unknown) => e);
					// A callback that carries on and swallows every error: nothing more may reach the dead socket
					// (postgres.js's own ROLLBACK there would throw out of a timer) nor a new session.
					afterwards = await tx
						.query(`insert into ${db.items} (label) values ($1)`, ["after"])
						.catch((e: unknown) => e);
					nested = await tx.transaction((inner) => inner.query("select 1", [])).catch((e: unknown) => e);
					callback.resolve();
					return "done";
				}),
			).rejects.toMatchObject(connectionGone);
			// The transaction rejects as soon as the connection is lost; the callback finishes on its own.
			await callback.promise;
			expect(String(nested)).toMatch(/connection was lost|already finished/);
			expect(killed).toMatchObject(connectionGone);
			expect(String(afterwards)).toMatch(/connection was lost|already finished/);
			// postgres.js 3.4.9 hands the dead backend's FATAL to the next statement on that connection
			// (porsager/postgres#1215); the driver does not hide it, and the statement after it runs. 4.x does not.
			const first = await driver.query<{ pid: number }>(pid, []).then(
				({ rows }) => rows,
				(error: { code?: string }) => error.code,
			);
			if (major === 4 || first !== "57P01") expect(first).toEqual([{ pid: expect.any(Number) }]);
			// 3.x's row index is stale too: the driver drops the holes it leaves at the front of the next result.
			const { rows, rowCount } = await driver.query<{ pid: number }>(pid, []);
			expect(rowCount).toBe(1);
			expect(rows).toEqual([{ pid: expect.any(Number) }]);
			expect(rows[0].pid).not.toBe(before);
			expect(await db.labels()).toEqual([]);
		});
	});

	it("stops a transaction's statements once its idle connection was killed from outside", async () => {
		await withDriver(createDriver({ connectionString: db.url, max: 1 }), async (driver) => {
			const idle = deferred<number>();
			const resume = deferred<void>();
			const late = deferred<unknown>();
			const outcome = failure(
				driver.transaction(async (tx) => {
					const txPid = (await tx.query<{ pid: number }>(pid, [])).rows[0].pid;
					await tx.query(`insert into ${db.items} (label) values ($1)`, ["before-kill"]);
					idle.resolve(txPid);
					await resume.promise;
					late.resolve(await tx.query(`insert into ${db.items} (label) values ($1)`, ["after-kill"]).catch((e) => e));
				}),
			);
			const txPid = await idle.promise;
			await db.admin.query("select pg_terminate_backend($1)", [txPid]);
			expect(await outcome).toMatchObject(connectionGone);
			// The pool's one connection is reconnected for another caller; the old `tx` must not run on it.
			const other = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
			expect(other).not.toBe(txPid);
			resume.resolve();
			expect(String(await late.promise)).toMatch(/connection was lost/);
			expect(await db.labels()).toEqual([]);
		});
	});

	// postgres.js 3.4.9 would write COMMIT (or RELEASE) to the closed connection once the callback settled: an
	// uncaught TypeError out of a timer, and a connection that never reconnects (the next call hangs).
	for (const where of ["the transaction", "a savepoint"] as const) {
		it(`fails a transaction killed while idle in ${where} whose callback then returns, writes nothing, and the next transaction runs`, async () => {
			await withDriver(createDriver({ connectionString: db.url, max: 1 }), async (driver) => {
				const idle = deferred<number>();
				const resume = deferred<void>();
				const returned = deferred<void>();
				const body = async (tx: Driver) => {
					await tx.query(`insert into ${db.items} (label) values ($1)`, [`in ${where}`]);
					idle.resolve((await tx.query<{ pid: number }>(pid, [])).rows[0].pid);
					await resume.promise;
					returned.resolve();
					return "done";
				};
				const outcome = failure(
					driver.transaction(async (tx) => {
						await tx.query(`insert into ${db.items} (label) values ($1)`, ["outer"]);
						return where === "a savepoint" ? tx.transaction(body) : body(tx);
					}),
				);
				const txPid = await idle.promise;
				await db.admin.query("select pg_terminate_backend($1)", [txPid]);
				expect(await outcome).toMatchObject(connectionGone);
				// The callback returns only now, with the connection closed and not yet reopened.
				resume.resolve();
				await returned.promise;
				await new Promise((resolve) => setTimeout(resolve, 50));
				const started = Date.now();
				await driver.transaction((tx) => tx.query(`insert into ${db.items} (label) values ($1)`, ["next"]));
				expect(Date.now() - started).toBeLessThan(5_000);
				const after = (await driver.query<{ pid: number }>(pid, [])).rows[0].pid;
				expect(after).not.toBe(txPid);
				expect(await db.labels()).toEqual(["next"]);
			});
		});
	}
	// A statement the callback did not wait for fails after it returned: Postgres answers COMMIT with ROLLBACK.
	// postgres.js 4 rejects with TRANSACTION_ROLLED_BACK, which the driver reports as the core's error; 3.x
	// would report the transaction as committed, so there the driver waits for such statements itself.
	for (const where of ["the transaction", "a savepoint"] as const) {
		it(`reports a commit Postgres turned into a rollback (a statement in ${where} failing after its callback returned) as TransactionRolledBackError`, async () => {
			await withDriver(createDriver({ connectionString: db.url, max: 1 }), async (driver) => {
				const late = deferred<unknown>();
				const body = async (tx: Driver) => {
					await tx.query(`insert into ${db.items} (label) values ($1)`, [`in ${where}`]);
					// Not awaited: it is still running when the callback returns.
					tx.query("select pg_sleep(0.1), 1/0", []).then(late.resolve, late.resolve);
					return "pretends to succeed";
				};
				const outcome = await failure(
					driver.transaction(async (tx) => {
						await tx.query(`insert into ${db.items} (label) values ($1)`, ["outer"]);
						return where === "a savepoint" ? tx.transaction(body) : body(tx);
					}),
				);
				expect(outcome).toBeInstanceOf(TransactionRolledBackError);
				expect(await late.promise).toMatchObject({ code: "22012" });
				expect(await db.labels()).toEqual([]);
				// The connection is fine, and back in the pool.
				await driver.transaction((tx) => tx.query(`insert into ${db.items} (label) values ($1)`, ["next"]));
				expect(await db.labels()).toEqual(["next"]);
			});
		});
	}
});

describe("postgres.js driver: prepared statements", () => {
	it("prepares a named statement once per connection and reuses it", async () => {
		await withDriver(createDriver({ connectionString: db.url, max: 1 }), async (driver) => {
			expect(driver.capabilities.preparedStatements).toBe(true);
			for (const label of ["a", "b", "c"]) {
				await driver.query(`insert into ${db.items} (label) values ($1)`, [label], { name: "authpg_pgjs_ins" });
			}
			const { rows } = await driver.query<{ n: string }>(
				"select generic_plans + custom_plans as n from pg_prepared_statements where statement like $1",
				["%authpg_pgjs_ins%"],
			);
			expect(rows).toEqual([{ n: "3" }]);
		});
	});

	it("gives one text under two names two statements: the parameter types of one schema never serve another", async () => {
		const table = `"${schema}".shifting`;
		await withDriver(createDriver({ connectionString: db.url, max: 1 }), async (driver) => {
			const text = `select count(*)::int as n from ${table} where id = $1`;
			await driver.query(`create table ${table} (id text)`, []);
			await driver.query(text, ["x"], { name: "authpg_pgjs_text_id" });
			await driver.query(`drop table ${table}`, []);
			await driver.query(`create table ${table} (id integer)`, []);
			// Prepared for a text column, the same text would now fail with "operator does not exist: integer = text".
			const { rows } = await driver.query(text, [1], { name: "authpg_pgjs_int_id" });
			expect(rows).toEqual([{ n: 0 }]);
			await driver.query(`drop table ${table}`, []);
		});
	});

	it("prepares nothing when prepared statements are off, in the driver or in the instance", async () => {
		const off = createDriver({ connectionString: db.url, max: 1 }, { preparedStatements: false });
		const sql = postgres(db.url, { max: 1, prepare: false });
		const offByInstance = postgresJsDriver(sql);
		try {
			expect(off.capabilities.preparedStatements).toBe(false);
			expect(offByInstance.capabilities.preparedStatements).toBe(false);
			for (const driver of [off, offByInstance]) {
				await driver.query(`insert into ${db.items} (label) values ($1)`, [`x-${driver === off}`], {
					name: "authpg_pgjs_off",
				});
				await driver.transaction((tx) => tx.query("select 1", [], { name: "authpg_pgjs_off_tx" }));
				const { rows } = await driver.query("select name from pg_prepared_statements", []);
				expect(rows).toEqual([]);
			}
			expect(await db.labels()).toEqual(["x-true", "x-false"]);
		} finally {
			await off.close();
			await sql.end();
		}
	});

	it("runs a named text whose `$n` are not all placeholders, or not in order, with the right values", async () => {
		await withDriver(createDriver({ connectionString: db.url, max: 1 }), async (driver) => {
			const cases: [string, unknown[], Record<string, unknown>][] = [
				// A `$1` in a literal: the placeholders would read 1, 1.
				["select 'a $1' as lit, $1::int as v", [5], { lit: "a $1", v: 5 }],
				// A `$2` in a literal after the only placeholder: one more string than values.
				["select $1::int as v, 'cost $2' as lit", [6], { v: 6, lit: "cost $2" }],
				// Placeholders out of order, and one used twice.
				["select $2::int - $1::int as d, $1::int + $1::int as s", [1, 10], { d: 9, s: 2 }],
				// `$1` inside a quoted name is part of the name.
				['select $1::int as "x$1"', [7], { x$1: 7 }],
			];
			for (const [i, [text, params, row]] of cases.entries()) {
				for (let call = 0; call < 2; call++) {
					const { rows } = await driver.query(text, params, { name: `authpg_pgjs_dollar_${i}` });
					expect(rows).toEqual([row]);
				}
			}
		});
	});

	it("cuts a named text at its placeholders only when they are $1 … $n, once each, in order", () => {
		expect([...(templateOf("select a from t where b = $1 and c = $2 limit $3") ?? [])]).toEqual([
			"select a from t where b = ",
			" and c = ",
			" limit ",
			"",
		]);
		expect(templateOf("select $1, $10, $2")).toBeUndefined();
		expect(templateOf("select $2, $1")).toBeUndefined();
		expect(templateOf('select "a$1" from t')?.length).toBe(1);
		const cut = templateOf("select $1::text");
		expect(cut && Object.isFrozen(cut) && Array.isArray(cut.raw)).toBe(true);
	});

	it("names nothing the core did not name", async () => {
		await withDriver(createDriver({ connectionString: db.url, max: 1 }), async (driver) => {
			await driver.query(`insert into ${db.items} (label) values ($1)`, ["unnamed"]);
			const { rows } = await driver.query("select name from pg_prepared_statements", []);
			expect(rows).toEqual([]);
		});
	});
});

describe("postgres.js driver: lifecycle", () => {
	it("createStores connects lazily, and close() ends the instance it owns", async () => {
		const name = "authpg-lazy";
		const stores = createStores({
			connectionString: db.url,
			postgres: { max: 2, connection: { application_name: name } },
		});
		expect(await connectionsNamed(name)).toBe(0);
		await stores.driver.query("select 1", []);
		expect(await connectionsNamed(name)).toBe(1);
		await Promise.all([stores.close(), stores.close()]);
		await expectConnections(name, 0);
		await expect(stores.driver.query("select 1", [])).rejects.toThrow(/closed/);
		await expect(stores.driver.transaction(async () => {})).rejects.toThrow(/closed/);
	});

	it("shares one instance per configuration across hot reloads in development", async () => {
		const previous = process.env.NODE_ENV;
		process.env.NODE_ENV = "development";
		const name = "authpg-dev-shared";
		try {
			const config = { connectionString: db.url, postgres: { connection: { application_name: name } } };
			const a = createStores(config);
			const b = createStores(config);
			expect(b.driver).toBe(a.driver);
			await a.driver.query("select 1", []);
			await a.close();
			expect((await b.driver.query("select 1 as one", [])).rows).toEqual([{ one: 1 }]);
			await b.close();
			await expectConnections(name, 0);
		} finally {
			process.env.NODE_ENV = previous;
		}
	});

	it("runs Better Auth's tables through stores: migrate, then the adapter over the same instance", async () => {
		const stores = createStores({ connectionString: db.url, schema: "authpg_pgjs_auth" });
		try {
			await stores.driver.query('create schema if not exists "authpg_pgjs_auth"', []);
			await stores.migrate({});
			const adapter = stores.adapter({});
			const created = await adapter.create<Record<string, unknown>>({
				model: "user",
				data: { name: "n", email: "n@example.com", emailVerified: false, createdAt: new Date(), updatedAt: new Date() },
			});
			expect(created.createdAt).toBeInstanceOf(Date);
			const found = await adapter.findOne<{ email: string }>({
				model: "user",
				where: [{ field: "id", value: created.id as string }],
			});
			expect(found?.email).toBe("n@example.com");
			await expect(
				adapter.create({
					model: "user",
					data: {
						name: "m",
						email: "n@example.com",
						emailVerified: false,
						createdAt: new Date(),
						updatedAt: new Date(),
					},
				}),
			).rejects.toMatchObject({ code: "QUERY_FAILED", sqlState: "23505" });
		} finally {
			await stores.close();
		}
	});
});
