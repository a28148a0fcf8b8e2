import type { BetterAuthOptions } from "@better-auth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPgliteDatabase, type PgliteDatabase } from "../src/pglite-database.js";
import { RoundTrips } from "../src/round-trips.js";
import { type DataSet, seed } from "../src/seed.js";

// The options the benchmark migrates for (database rate limiting adds the rateLimit table).
const options: BetterAuthOptions = {
	secret: "authpg-bench-test-secret-0123456789abcdef0123456789abcdef",
	emailAndPassword: { enabled: true },
	rateLimit: { enabled: true, storage: "database", window: 3600, max: 1_000_000_000 },
};

describe("the PGlite subject's own database", () => {
	let a: PgliteDatabase;
	let b: PgliteDatabase;
	let data: DataSet;

	beforeAll(async () => {
		[a, b] = await Promise.all([openPgliteDatabase(options), openPgliteDatabase(options)]);
		data = await seed([a.admin, b.admin], 300);
	}, 120_000);
	afterAll(async () => {
		await Promise.all([a?.close(), b?.close()]);
	});

	it("gets exactly the same rows as every other database the seed writes to", async () => {
		for (const table of ["user", "account", "session", "verification", "rateLimit"]) {
			const text = `select * from "${table}" order by "id"`;
			const [left, right] = await Promise.all([a.admin.query(text), b.admin.query(text)]);
			expect(left.rows.length, table).toBeGreaterThan(0);
			expect(right.rows, table).toEqual(left.rows);
		}
		const { rows } = await a.admin.query(`select count(*)::int as n from "session"`);
		expect(rows[0].n).toBe(data.counts.sessions);
		const token = await a.admin.query(`select "userId" from "session" where "token" = $1`, [data.tokens[0]]);
		expect(data.readerIds).toContain(token.rows[0].userId);
	});

	it("counts every statement sent to PGlite, a transaction's BEGIN and COMMIT included, and not the admin's", async () => {
		const roundTrips = new RoundTrips();
		roundTrips.watchPglite(a.pglite);
		await a.pglite.query("select 1");
		await a.pglite.exec("select 1; select 2");
		expect(roundTrips.count).toBe(2);
		await a.pglite.transaction(async (tx) => {
			await tx.query("select 1");
			await tx.exec("select 2");
		});
		expect(roundTrips.count).toBe(6);
		await a.admin.query("select 1");
		expect(roundTrips.count).toBe(6);
	});
});
