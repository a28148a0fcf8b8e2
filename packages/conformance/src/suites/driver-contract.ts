import { type Driver, QueryError, TransactionRolledBackError } from "@authpg/core";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ConnectionModel } from "./index.js";
import { itWhen } from "./report.js";
import { signal } from "./signal.js";

/** Kept apart from the other suites' namespaces, so they can share one database. */
const NS = "authpg_driver_contract";
const ITEMS = `${NS}.items`;

/**
 * Drivers whose client reports a statement failure the callback caught as that statement's own
 * error when the transaction ends, instead of the core's `TransactionRolledBackError`: postgres.js
 * remembers the failed statement of a transaction and rejects `sql.begin` with it. Either way the
 * transaction rejects and keeps nothing.
 */
const REPORTS_CAUGHT_FAILURE_ITSELF = new Set(["postgres-js"]);

/** Whether `driver` reports a caught statement failure itself when its transaction ends (see above). */
export const reportsCaughtFailureItself = (driver: Driver) => REPORTS_CAUGHT_FAILURE_ITSELF.has(driver.name);

const AT = new Date("2024-05-06T07:08:09.123Z");
const TAGS = ["a", "b,c", 'q"uote', "back\\slash", "{brace}", "NULL", "", null, "émoji 😀"];

/** One statement reading back every type the `Driver` contract names, from parameters and literals. */
const VALUES_SQL = `select $1::timestamptz as at, $2::timestamptz as "atFromText", $3::jsonb as doc, $4::text[] as tags,
	$5::int8[] as nums, $6::int8[] as "numsFromNumbers", $7::int8 as big, 9007199254740993::int8 as huge,
	$8::int4 as small, $9::bool as yes, false as no, $10::numeric as exact, 1.50::numeric as dec,
	$11::timestamptz[] as ats, $12::jsonb[] as docs, $13::json as plain, null::text as nothing,
	(select count(*) from generate_series(1, 3)) as n, 1.5::float8 as float, '\\x00ff10'::bytea as bytes,
	$14::uuid[] as ids, '{{1,2},{3,NULL}}'::int4[] as grid, '[0:1]={7,8}'::int4[] as bounded`;
const VALUES_PARAMS = [
	AT,
	"2024-05-06T07:08:09.123Z",
	JSON.stringify({ a: [1, "x"], user_id: 2 }),
	TAGS,
	["1", "9007199254740993"],
	[1, 2 ** 40],
	"9007199254740993",
	42,
	true,
	"12345678901234567890.123",
	[new Date("2024-01-02T03:04:05.678Z"), null],
	[JSON.stringify({ k: 1 }), JSON.stringify([2])],
	JSON.stringify("just a string"),
	["00000000-0000-0000-0000-000000000001"],
];

function expectContractValues(found: Record<string, unknown> | undefined): void {
	expect(found).toBeDefined();
	const row = found as Record<string, unknown>;
	expect(row.at).toBeInstanceOf(Date);
	expect((row.at as Date).toISOString()).toBe("2024-05-06T07:08:09.123Z");
	expect((row.atFromText as Date).toISOString()).toBe("2024-05-06T07:08:09.123Z");
	expect(row.doc).toEqual({ a: [1, "x"], user_id: 2 });
	expect(row.tags).toEqual(TAGS);
	// Every authpg driver hands int8 back as exact text (the contract would allow a bigint too).
	expect(row.nums).toEqual(["1", "9007199254740993"]);
	expect(row.numsFromNumbers).toEqual(["1", "1099511627776"]);
	expect(row.big).toBe("9007199254740993");
	expect(row.huge).toBe("9007199254740993");
	expect(row.n).toBe("3");
	expect(row.small).toBe(42);
	expect(row.yes).toBe(true);
	expect(row.no).toBe(false);
	expect(row.exact).toBe("12345678901234567890.123");
	expect(row.dec).toBe("1.50");
	expect((row.ats as Date[])[0]?.toISOString()).toBe("2024-01-02T03:04:05.678Z");
	expect((row.ats as unknown[])[1]).toBeNull();
	expect(row.docs).toEqual([{ k: 1 }, [2]]);
	expect(row.plain).toBe("just a string");
	expect(row.nothing).toBeNull();
	expect(row.float).toBe(1.5);
	expect(Array.from(row.bytes as Uint8Array)).toEqual([0, 255, 16]);
	expect(row.ids).toEqual(["00000000-0000-0000-0000-000000000001"]);
	expect(row.grid).toEqual([
		[1, 2],
		[3, null],
	]);
	expect(row.bounded).toEqual([7, 8]);
}

/**
 * The `Driver` interface itself, written once for every driver: the values it
 * hands back, SQLSTATEs of failed statements, affected-row counts, named
 * statements, and `transaction`: commit, rollback and rethrow, savepoints,
 * a commit Postgres turned into a rollback, and a `tx` used after its end.
 */
export function driverContractSuite(driver: () => Driver, connections: ConnectionModel): void {
	describe("Driver contract", () => {
		const insert = (on: Driver, label: string) => on.query(`insert into ${ITEMS} (label) values ($1)`, [label]);
		async function labels(): Promise<string[]> {
			const { rows } = await driver().query<{ label: string }>(`select label from ${ITEMS} order by id`, []);
			return rows.map((row) => row.label);
		}

		beforeAll(async () => {
			await driver().query(`drop schema if exists ${NS} cascade`, []);
			await driver().query(`create schema ${NS}`, []);
			await driver().query(`create table ${ITEMS} (id serial primary key, label text not null unique)`, []);
		});

		beforeEach(async () => {
			await driver().query(`truncate ${ITEMS} restart identity`, []);
		});

		const transactional = driver().capabilities.transactions;
		const itTransactional = itWhen(transactional, "the driver has no interactive transactions (capabilities)");

		it("hands back timestamptz as Date, jsonb parsed, arrays as arrays, int8 and numeric as exact text", async () => {
			const { rows, rowCount } = await driver().query<Record<string, unknown>>(VALUES_SQL, VALUES_PARAMS);
			expect(rowCount).toBe(1);
			expectContractValues(rows[0]);
		});

		itTransactional("hands back the same values through a transaction's tx", async () => {
			const row = await driver().transaction(
				async (tx) => (await tx.query<Record<string, unknown>>(VALUES_SQL, VALUES_PARAMS)).rows[0],
			);
			expectContractValues(row);
		});

		// Only the connection model the driver has is checked; the other one's test would be meaningless.
		const itPooled = connections === "pool" ? itTransactional : () => {};
		const itOneSession = connections === "one" ? itTransactional : () => {};

		itPooled("runs concurrent transactions on separate connections", async () => {
			const pid = "select pg_backend_pid() as pid";
			const firstInside = signal();
			const secondStarted = signal();
			// The first transaction waits for the second to start: a driver that serialised them would hang.
			const first = driver().transaction(async (tx) => {
				await insert(tx, "first");
				firstInside.resolve();
				await secondStarted.promise;
				return (await tx.query<{ pid: number }>(pid, [])).rows[0]?.pid;
			});
			await firstInside.promise;
			const second = driver().transaction(async (tx) => {
				secondStarted.resolve();
				await insert(tx, "second");
				return (await tx.query<{ pid: number }>(pid, [])).rows[0]?.pid;
			});
			const [a, b] = await Promise.all([first, second]);
			expect(a).toEqual(expect.any(Number));
			expect(a).not.toBe(b);
			expect((await labels()).sort()).toEqual(["first", "second"]);
		});

		itOneSession("holds statements from outside a running transaction until it commits", async () => {
			const order: string[] = [];
			const inside = signal();
			const transaction = driver().transaction(async (tx) => {
				await insert(tx, "tx");
				inside.resolve();
				await new Promise((resolve) => setTimeout(resolve, 50));
				order.push("transaction done");
			});
			await inside.promise;
			const outside = labels().then((found) => {
				order.push("outside done");
				return found;
			});
			await transaction;
			// One session: had the outside select not waited, it would have run inside the transaction.
			expect(await outside).toEqual(["tx"]);
			expect(order).toEqual(["transaction done", "outside done"]);
		});

		it("reports affected rows for writes and returned rows for reads", async () => {
			const inserted = await driver().query(`insert into ${ITEMS} (label) values ($1), ($2), ($3)`, ["a", "b", "c"]);
			expect(inserted.rows).toEqual([]);
			expect(inserted.rowCount).toBe(3);
			const update = await driver().query(`update ${ITEMS} set label = label || $1 where label <> $2`, ["!", "c"]);
			expect(update.rowCount).toBe(2);
			const select = await driver().query(`select * from ${ITEMS} where label like $1`, ["%!"]);
			expect(select.rowCount).toBe(2);
			const returning = await driver().query<{ label: string }>(
				`update ${ITEMS} set label = upper(label) where label = $1 returning label`,
				["c"],
			);
			expect(returning.rows).toEqual([{ label: "C" }]);
			expect(returning.rowCount).toBe(1);
			const none = await driver().query(`delete from ${ITEMS} where label = $1`, ["nope"]);
			expect(none.rowCount).toBe(0);
			expect(await labels()).toEqual(["a!", "b!", "C"]);
		});

		it("reports a failed statement with its SQLSTATE, which the core's QueryError carries, and carries on", async () => {
			await insert(driver(), "dup");
			const duplicate = await insert(driver(), "dup").catch((e: unknown) => e);
			expect(duplicate).toMatchObject({ code: "23505" });
			expect(new QueryError("create", "items", duplicate).sqlState).toBe("23505");
			await expect(driver().query("select * from authpg_no_such_table", [])).rejects.toMatchObject({ code: "42P01" });
			await expect(driver().query("select 1/0", [])).rejects.toMatchObject({ code: "22012" });
			// A failed statement leaves no aborted session behind.
			await insert(driver(), "after");
			expect(await labels()).toEqual(["dup", "after"]);
		});

		itTransactional("commits when the callback resolves, and hands back its value as it is", async () => {
			// An array of a promise: a client that awaited the elements of the result would hand back another array.
			const pending = Promise.resolve("resolved");
			const value = [pending, { a: 1 }] as const;
			const result = await driver().transaction(async (tx) => {
				await insert(tx, "one");
				await insert(tx, "two");
				return value;
			});
			expect(result).toBe(value);
			expect(result[0]).toBe(pending);
			const nested = await driver().transaction((tx) => tx.transaction(async () => value));
			expect(nested).toBe(value);
			expect(await labels()).toEqual(["one", "two"]);
		});

		itTransactional(
			"rolls back and rethrows when the callback throws, and gives its connection back every time",
			async () => {
				const boom = new Error("boom");
				await expect(
					driver().transaction(async (tx) => {
						await insert(tx, "doomed");
						throw boom;
					}),
				).rejects.toBe(boom);
				expect(await labels()).toEqual([]);
				// More rolled-back transactions than a default pool holds connections: a leaked one would hang here.
				for (let i = 0; i < 12; i++) {
					await expect(
						driver().transaction(async (tx) => {
							await insert(tx, `doomed-${i}`);
							throw boom;
						}),
					).rejects.toBe(boom);
				}
				// Outside any transaction again: a session left inside one would show the doomed rows here.
				await insert(driver(), "after");
				expect(await labels()).toEqual(["after"]);
			},
		);

		itTransactional("rolls back when a statement fails inside, and rejects with its SQLSTATE", async () => {
			await expect(
				driver().transaction(async (tx) => {
					await insert(tx, "lost");
					await tx.query("select 1/0", []);
				}),
			).rejects.toMatchObject({ code: "22012" });
			await expect(
				driver().transaction(async (tx) => {
					await insert(tx, "dup");
					await insert(tx, "dup");
				}),
			).rejects.toMatchObject({ code: "23505" });
			expect(await labels()).toEqual([]);
		});

		itTransactional("reports a commit that Postgres turned into a rollback", async () => {
			const outcome = await driver()
				.transaction(async (tx) => {
					await insert(tx, "lost");
					await tx.query("select 1/0", []).catch(() => {});
					return "pretends to succeed";
				})
				.then(
					(value) => ({ value }),
					(error: unknown) => ({ error }),
				);
			expect(outcome).not.toHaveProperty("value");
			const { error } = outcome as { error: unknown };
			if (reportsCaughtFailureItself(driver())) expect(error).toMatchObject({ code: "22012" });
			else expect(error).toBeInstanceOf(TransactionRolledBackError);
			expect(await labels()).toEqual([]);
		});

		itTransactional("rolls a failed savepoint back and keeps the outer work, at any depth", async () => {
			const boom = new Error("savepoint callback failed");
			const result = await driver().transaction(async (tx) => {
				await insert(tx, "outer-1");
				await expect(
					tx.transaction(async (inner) => {
						await insert(inner, "inner-lost");
						await insert(inner, "outer-1"); // unique violation
					}),
				).rejects.toMatchObject({ code: "23505" });
				await expect(
					tx.transaction(async (inner) => {
						await insert(inner, "inner-lost-2");
						await inner.query("select 1/0", []);
					}),
				).rejects.toThrow(/division by zero/);
				await expect(
					tx.transaction(async (inner) => {
						await insert(inner, "inner-lost-3");
						throw boom;
					}),
				).rejects.toBe(boom);
				const kept = await tx.transaction(async (inner) => {
					await insert(inner, "inner-kept");
					return inner.transaction(async (deeper) => {
						await insert(deeper, "deeper-kept");
						await expect(
							deeper.transaction(async (deepest) => {
								await insert(deepest, "deepest-lost");
								throw boom;
							}),
						).rejects.toBe(boom);
						return "deep";
					});
				});
				await insert(tx, "outer-2");
				return kept;
			});
			expect(result).toBe("deep");
			expect(await labels()).toEqual(["outer-1", "inner-kept", "deeper-kept", "outer-2"]);
		});

		itTransactional(
			"runs sibling savepoints one after another, so rolling one back cannot undo the other",
			async () => {
				await driver().transaction(async (tx) => {
					let releaseFirst!: () => void;
					const firstMayEnd = new Promise<void>((resolve) => {
						releaseFirst = resolve;
					});
					const first = tx.transaction(async (inner) => {
						await insert(inner, "first-undone");
						await firstMayEnd;
						throw new Error("undo first");
					});
					const second = tx.transaction((inner) => insert(inner, "second"));
					// Interleaved, the second insert would land inside the first savepoint and be rolled back with it.
					setTimeout(releaseFirst, 50);
					await expect(first).rejects.toThrow("undo first");
					await second;
				});
				expect(await labels()).toEqual(["second"]);
			},
		);

		itTransactional("refuses statements on a transaction's tx, and its savepoints', after it finished", async () => {
			let leaked!: Driver;
			let leakedInner!: Driver;
			await driver().transaction(async (tx) => {
				leaked = tx;
				await tx.transaction(async (inner) => {
					leakedInner = inner;
				});
			});
			await expect(insert(leaked, "late")).rejects.toThrow(/already finished/);
			await expect(leakedInner.query("select 1", [])).rejects.toThrow(/already finished/);
			await expect(leaked.transaction(async () => {})).rejects.toThrow(/already finished/);
			expect(await labels()).toEqual([]);
		});

		itTransactional(
			"uses a named statement as the contract says: prepared once per session and reused with preparedStatements, never prepared without",
			async () => {
				const marker = `authpg_contract_${Math.random().toString(36).slice(2, 10)}`;
				const name = `${marker}_ins`;
				// One transaction holds one session, so pg_prepared_statements answers for the session that ran them.
				const executions = await driver().transaction(async (tx) => {
					for (const label of ["a", "b", "c"]) {
						await tx.query(`insert into ${ITEMS} (label) select $1::text where '${marker}' <> ''`, [label], { name });
					}
					const { rows } = await tx.query<{ n: string }>(
						"select (generic_plans + custom_plans)::text as n from pg_prepared_statements where statement like $1",
						[`%${marker}%`],
					);
					return rows.map((row) => row.n);
				});
				expect(executions).toEqual(driver().capabilities.preparedStatements ? ["3"] : []);
				expect(await labels()).toEqual(["a", "b", "c"]);
			},
		);
	});
}
