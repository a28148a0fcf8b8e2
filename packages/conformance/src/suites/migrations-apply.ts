import {
	applyMigrations,
	type Driver,
	HISTORY_TABLE,
	introspect,
	lastMigration,
	MigrationError,
	planMigrations,
} from "@authpg/core";
import type { BetterAuthOptions } from "better-auth";
import { afterAll, describe, expect, it } from "vitest";
import { freshAdapter, pluginWith } from "./fixture.js";
import type { SuiteContext } from "./index.js";
import { arraysPlugin, NS, reset } from "./migrations-fixture.js";
import { itWhen } from "./report.js";
import { signal } from "./signal.js";

/** A session row whose user does not exist: adding the session's foreign key must fail on it. */
const insertOrphanSession = (driver: Driver) =>
	driver.query(`insert into ${NS}."session" values ('s', now(), 't', now(), now(), null, null, 'no-such-user')`, []);

/** Applying a plan: rollback, history rows, concurrent migrators, lock timeouts, concurrent index builds. */
export function migrationApplyingSuite(context: SuiteContext) {
	const { driver, connect } = context;
	describe("migrations", () => {
		const others: Driver[] = [];
		afterAll(async () => {
			await Promise.all(others.map((d) => d.close()));
		});

		it("a failing step rolls everything back and names the step and its SQL", async () => {
			await reset(driver(), NS);
			await driver().query(`create schema ${NS}`, []);
			// A session table without its foreign key, holding an orphan row: adding the key must fail.
			await driver().query(
				`create table ${NS}."session" ("id" text primary key, "expiresAt" timestamptz not null, "token" text not null unique,
				  "createdAt" timestamptz not null, "updatedAt" timestamptz not null, "ipAddress" text, "userAgent" text, "userId" text not null)`,
				[],
			);
			await insertOrphanSession(driver());
			const failure = applyMigrations(driver(), {}, { schema: NS });
			await expect(failure).rejects.toBeInstanceOf(MigrationError);
			await expect(failure).rejects.toThrow(/addForeignKey session\.userId[\s\S]*SQL: alter table/);
			const live = await introspect(driver(), NS);
			expect([...live.tables.keys()]).toEqual(["session"]);
			expect(await lastMigration(driver(), NS)).toBeUndefined();
		});

		it("history: each applied plan writes one row (steps, hash, tool, duration) in its transaction; empty and failed plans none", async () => {
			await reset(driver(), NS);
			const first = await applyMigrations(driver(), {}, { schema: NS, tool: "conformance 1.0" });
			expect(first.steps[0]).toMatchObject({ kind: "createSchema" });
			expect(first.steps[1]).toMatchObject({ kind: "createTable", target: HISTORY_TABLE });
			const row = await lastMigration(driver(), NS);
			expect(row).toMatchObject({ tool: "conformance 1.0" });
			expect(row!.steps).toEqual(first.steps.map((s) => ({ kind: s.kind, target: s.target, sql: s.sql })));
			expect(row!.planHash).toMatch(/^[0-9a-f]{64}$/);
			expect(row!.durationMs).toBeGreaterThanOrEqual(0);
			expect(Math.abs(row!.appliedAt.getTime() - Date.now())).toBeLessThan(60_000);
			const count = async () =>
				Number(
					(await driver().query<{ n: number }>(`select count(*)::int as n from ${NS}.${HISTORY_TABLE}`, [])).rows[0]!.n,
				);
			expect(await count()).toBe(1);
			// In sync: no row.
			expect((await applyMigrations(driver(), {}, { schema: NS })).steps).toEqual([]);
			expect(await count()).toBe(1);
			// A failing plan: its steps roll back, and so does its row.
			await driver().query(`alter table ${NS}."session" drop constraint "session_userId_fkey"`, []);
			await insertOrphanSession(driver());
			const withNote = pluginWith("note", { body: { type: "string", required: false } });
			await expect(applyMigrations(driver(), withNote, { schema: NS })).rejects.toBeInstanceOf(MigrationError);
			expect(await count()).toBe(1);
			expect((await introspect(driver(), NS)).tables.has("note")).toBe(false);
			await driver().query(`delete from ${NS}."session"`, []);
			const second = await applyMigrations(driver(), withNote, { schema: NS });
			expect(second.steps.map((s) => `${s.kind} ${s.target}`).sort()).toEqual(
				["addForeignKey session.userId", "createTable note"].sort(),
			);
			const last = await lastMigration(driver(), NS);
			expect(await count()).toBe(2);
			expect(last!.id).toBeGreaterThan(row!.id);
			expect(last!.steps.map((s) => s.target).sort()).toEqual(["note", "session.userId"]);
			expect(last!.tool).toMatch(/^@authpg\/core \S+$/);
			expect(last!.planHash).not.toBe(row!.planHash);
		});

		it("two concurrent migrators: one applies, the other finds nothing; neither errors", async () => {
			await reset(driver(), NS);
			// On a single session the second migrator is a second caller on it: it waits for the first's transaction.
			const second = connect ? await connect() : driver();
			if (connect) others.push(second);
			const [a, b] = await Promise.all([
				applyMigrations(driver(), arraysPlugin, { schema: NS }),
				applyMigrations(second, arraysPlugin, { schema: NS }),
			]);
			const counts = [a.steps.length, b.steps.length].sort((x, y) => x - y);
			expect(counts[0]).toBe(0);
			expect(counts[1]).toBeGreaterThan(5);
		});

		itWhen(
			connect !== undefined,
			"needs a second session holding a table lock; on a single session the migration waits for that session's transaction, not for a lock",
		)("lock_timeout stops a migration queued behind live traffic, with nothing applied", async () => {
			await freshAdapter(driver(), NS);
			const holder = await connect!();
			others.push(holder);
			const released = signal();
			const locked = signal();
			const holding = holder.transaction(async (tx) => {
				await tx.query(`lock table ${NS}."user" in access exclusive mode`, []);
				locked.resolve();
				await released.promise;
			});
			await locked.promise;
			const options: BetterAuthOptions = { user: { additionalFields: { nick: { type: "string", required: false } } } };
			try {
				await expect(applyMigrations(driver(), options, { schema: NS, lockTimeoutMs: 200 })).rejects.toThrow(
					/lock timeout/,
				);
			} finally {
				released.resolve();
				await holding;
			}
			expect((await introspect(driver(), NS)).tables.get("user")?.columns.has("nick")).toBe(false);
		});

		it("--concurrently builds indexes on existing tables outside the transaction and rebuilds an invalid leftover", async () => {
			await freshAdapter(driver(), NS);
			const options = pluginWith("note", {});
			await applyMigrations(driver(), options, { schema: NS });
			await driver().query(`drop index ${NS}."session_userId_idx"`, []);
			await driver().query(`create index "session_userId_idx" on ${NS}."session" ("userId")`, []);
			// What a failed CREATE INDEX CONCURRENTLY leaves behind.
			await driver().query(
				`update pg_index set indisvalid = false where indexrelid = '${NS}."session_userId_idx"'::regclass`,
				[],
			);
			await driver().query(`drop index ${NS}."account_userId_idx"`, []);
			const plan = await applyMigrations(driver(), options, { schema: NS, concurrently: true });
			expect(plan.steps.map((s) => `${s.kind} ${s.target} ${s.concurrently === true}`)).toEqual([
				"dropInvalidIndex session_userId_idx true",
				"createIndex session_userId_idx true",
				"createIndex account_userId_idx true",
			]);
			expect(plan.steps.every((s) => /concurrently/.test(s.sql))).toBe(true);
			const live = await introspect(driver(), NS);
			expect(live.indexes.get("session_userId_idx")?.valid).toBe(true);
			expect(live.indexes.get("account_userId_idx")?.valid).toBe(true);
			expect((await planMigrations(driver(), options, { schema: NS, concurrently: true })).steps).toEqual([]);
		});
	});
}
