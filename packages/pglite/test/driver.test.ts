import type { Driver } from "@authpg/core";
import { type PGlite, types } from "@electric-sql/pglite";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgliteDriver } from "../src/index.js";
import { freshPglite } from "./fresh.js";

// The Driver contract itself (values, SQLSTATEs, affected rows, transactions, savepoints, a finished tx) is the
// conformance suite's "Driver contract" block; this file keeps what is PGlite's own: one session shared with the
// application, its parsers, multi-statement texts, lifecycle.
// One PGlite for the file (starting one takes seconds); each test empties the table first.
let pglite: PGlite;
let driver: Driver;

beforeAll(async () => {
	pglite = await freshPglite();
	await pglite.exec("create table items (id serial primary key, label text not null)");
	driver = pgliteDriver(pglite);
});

afterAll(async () => {
	await driver?.close();
	await pglite?.close();
});

beforeEach(async () => {
	await pglite.exec("truncate items restart identity");
});

async function labels(): Promise<string[]> {
	const { rows } = await pglite.query<{ label: string }>("select label from items order by id");
	return rows.map((row) => row.label);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function signal(): { promise: Promise<void>; resolve: () => void } {
	let resolve!: () => void;
	const promise = new Promise<void>((r) => {
		resolve = r;
	});
	return { promise, resolve };
}

describe("PGlite driver", () => {
	it("a statement sent through the driver from inside its own transaction joins it; others wait", async () => {
		const started = signal();
		const released = signal();
		const failure = new Error("roll back");
		const transaction = driver.transaction(async (tx) => {
			await tx.query("insert into items (label) values ($1)", ["via tx"]);
			// Through the driver itself, as a store shared with the application would: no deadlock, same transaction.
			await driver.query("insert into items (label) values ($1)", ["via driver"]);
			const seen = await driver.query<{ n: number }>("select count(*)::int as n from items", []);
			expect(seen.rows[0]?.n).toBe(2);
			started.resolve();
			await released.promise;
			throw failure;
		});
		await started.promise;
		let outsideDone = false;
		const outside = driver.query<{ n: number }>("select count(*)::int as n from items", []).then((r) => {
			outsideDone = true;
			return r;
		});
		await sleep(50);
		expect(outsideDone).toBe(false);
		released.resolve();
		await expect(transaction).rejects.toBe(failure);
		expect((await outside).rows[0]?.n).toBe(0);
		expect(await labels()).toEqual([]);
	});

	it("holds outside callers while a transaction runs; they see its committed data", async () => {
		const events: string[] = [];
		const inserted = signal();
		const transaction = driver.transaction(async (tx) => {
			await tx.query("insert into items (label) values ($1)", ["in-tx"]);
			inserted.resolve();
			await sleep(100);
			await tx.query("insert into items (label) values ($1)", ["in-tx-2"]);
			events.push("tx body done");
		});
		await inserted.promise;
		const outside = driver.query<{ count: string }>("select count(*) from items", []).then((result) => {
			events.push("outside done");
			return result;
		});
		await transaction;
		events.push("tx committed");
		expect((await outside).rows[0]?.count).toBe("2");
		expect(events).toEqual(["tx body done", "tx committed", "outside done"]);
	});

	it("the application's own queries on the instance wait for a transaction of the driver, and the other way round", async () => {
		const inside = signal();
		const released = signal();
		const transaction = driver.transaction(async (tx) => {
			await tx.query("insert into items (label) values ($1)", ["ours, rolled back"]);
			inside.resolve();
			await released.promise;
			throw new Error("roll back");
		});
		await inside.promise;
		// Straight on the PGlite instance, as an ORM sharing it would: it must not land inside our transaction.
		const direct = pglite.query("insert into items (label) values ($1)", ["theirs"]);
		await sleep(30);
		released.resolve();
		await expect(transaction).rejects.toThrow("roll back");
		await direct;
		expect(await labels()).toEqual(["theirs"]);

		const theirsInside = signal();
		const theirsRelease = signal();
		const theirs = pglite.transaction(async (ptx) => {
			await ptx.query("insert into items (label) values ($1)", ["their tx"]);
			theirsInside.resolve();
			await theirsRelease.promise;
		});
		await theirsInside.promise;
		let ourDone = false;
		const ours = driver.query<{ n: number }>("select count(*)::int as n from items", []).then((r) => {
			ourDone = true;
			return r;
		});
		await sleep(30);
		expect(ourDone).toBe(false);
		theirsRelease.resolve();
		await theirs;
		expect((await ours).rows[0]?.n).toBe(2);
	});

	it("runs concurrent statements one at a time, in call order", async () => {
		await Promise.all(
			Array.from({ length: 30 }, (_, i) => driver.query("insert into items (label) values ($1)", [`n${i}`])),
		);
		expect(await labels()).toEqual(Array.from({ length: 30 }, (_, i) => `n${i}`));
	});

	it("runs a text of several statements without parameters whole, answering with the last", async () => {
		const { rows, rowCount } = await driver.query<{ n: number }>(
			"insert into items (label) values ('a'); insert into items (label) values ('b'); select count(*)::int as n from items",
			[],
		);
		expect(rows).toEqual([{ n: 2 }]);
		expect(rowCount).toBe(1);
	});

	it("hands back the Driver contract's types, whatever parsers the application gave PGlite", async () => {
		// An application that wants int8 as bigint and timestamps as text must not change what the core receives.
		const own = await freshPglite({
			parsers: { [types.INT8]: (x: string) => BigInt(x), [types.TIMESTAMPTZ]: (x: string) => x },
		});
		const ownDriver = pgliteDriver(own);
		try {
			const { rows } = await ownDriver.query<Record<string, unknown>>(
				`select $1::timestamptz as at, $2::jsonb as doc, $3::text[] as tags, $4::int8[] as nums,
				        $5::int8 as big, 9007199254740993::int8 as huge, true as yes, 7::int4 as small, 1.50::numeric as dec,
				        count(*) as n, array[$1::timestamptz] as ats`,
				[
					new Date("2024-05-06T07:08:09.123Z"),
					JSON.stringify({ a: [1, "x"] }),
					["a", "b,c", 'q"uote', "NULL", ""],
					[1, 2 ** 40],
					42,
				],
			);
			const row = rows[0]!;
			expect(row.at).toBeInstanceOf(Date);
			expect((row.at as Date).toISOString()).toBe("2024-05-06T07:08:09.123Z");
			expect(row.doc).toEqual({ a: [1, "x"] });
			expect(row.tags).toEqual(["a", "b,c", 'q"uote', "NULL", ""]);
			expect(row.nums).toEqual(["1", "1099511627776"]);
			expect(row.big).toBe("42");
			expect(row.huge).toBe("9007199254740993");
			expect(row.yes).toBe(true);
			expect(row.small).toBe(7);
			expect(row.dec).toBe("1.50");
			expect(row.n).toBe("1");
			expect(row.ats).toEqual([new Date("2024-05-06T07:08:09.123Z")]);
		} finally {
			await ownDriver.close();
			await own.close();
		}
	});

	it("round-trips timestamptz across its whole range, and reads other session time zones exactly", async () => {
		const bc = (year: number, month: number, day: number) => {
			const date = new Date(Date.UTC(2000, month, day));
			date.setUTCFullYear(year);
			return date;
		};
		const edges = [
			bc(-4713, 10, 24), // 4714-11-24 BC, the earliest timestamptz
			bc(0, 0, 1), // 1 BC
			new Date("0001-01-01T00:00:00.000Z"),
			new Date("0099-12-31T23:59:59.999Z"),
			new Date("1969-12-31T23:59:59.999Z"),
			new Date("9999-12-31T23:59:59.999Z"),
			new Date("+010000-01-01T00:00:00.000Z"),
			new Date(8.64e15), // the latest JavaScript date: +275760-09-13
		];
		for (const at of edges) {
			const { rows } = await driver.query<{ at: Date; text: string; ats: Date[] }>(
				"select $1::timestamptz as at, $1::timestamptz::text as text, $2::timestamptz[] as ats",
				[at, [at, at]],
			);
			expect(rows[0]?.at.toISOString(), rows[0]?.text).toBe(at.toISOString());
			expect(rows[0]?.ats.map((d) => d.toISOString())).toEqual([at.toISOString(), at.toISOString()]);
		}
		await driver.transaction(async (tx) => {
			// Historical zones have offsets in seconds (Kolkata in 1800: +05:53:28).
			await tx.query("set local time zone 'Asia/Kolkata'", []);
			const { rows } = await tx.query<{ at: Date; text: string }>(
				"select '1800-01-01 00:00:00+00'::timestamptz as at, '1800-01-01 00:00:00+00'::timestamptz::text as text",
				[],
			);
			expect(rows[0]?.text).toBe("1800-01-01 05:53:28+05:53:28");
			expect(rows[0]?.at.toISOString()).toBe("1800-01-01T00:00:00.000Z");
		});
		const infinite = await driver.query<{ up: number; down: number }>(
			"select 'infinity'::timestamptz as up, $1::timestamptz as down",
			[Number.NEGATIVE_INFINITY],
		);
		expect(infinite.rows[0]).toEqual({ up: Number.POSITIVE_INFINITY, down: Number.NEGATIVE_INFINITY });
	});

	it("leaves an instance it does not own open, lets queued work finish on close, then refuses statements", async () => {
		const own = await freshPglite();
		const borrowed = pgliteDriver(own);
		const queued = borrowed.query<{ one: number }>("select 1 as one", []);
		await borrowed.close();
		expect((await queued).rows).toEqual([{ one: 1 }]);
		await borrowed.close();
		await expect(borrowed.query("select 1", [])).rejects.toThrow(/closed/);
		expect((await own.query("select 2 as two")).rows).toEqual([{ two: 2 }]);
		expect(own.closed).toBe(false);

		const owner = pgliteDriver(own, { ownsClient: true });
		await owner.query("select 1", []);
		await owner.close();
		expect(own.closed).toBe(true);
	});
});
