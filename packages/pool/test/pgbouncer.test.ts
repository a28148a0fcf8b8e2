/**
 * `@authpg/pool` behind a real PgBouncer in transaction pooling mode: the full conformance suite
 * with `preparedStatements: false`, and, with them on, the failure reported as what it is.
 * Skipped (loudly, with the reason in the test name) only when no `pgbouncer` binary exists.
 */
import {
	findPgBouncer,
	type PgBouncer,
	runConformance,
	startPgBouncer,
	startTestDatabase,
	type TestDatabase,
} from "@authpg/conformance";
import { applyMigrations, PreparedStatementError } from "@authpg/core";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDriver, createStores } from "../src/index.js";

const found = await findPgBouncer();

if (!found.found) {
	const reason = `PgBouncer tests SKIPPED: ${found.reason}`;
	console.warn(`\n${"!".repeat(100)}\n!!! ${reason}\n${"!".repeat(100)}\n`);
	describe("pool behind PgBouncer (transaction pooling)", () => {
		it.skip(reason, () => {});
	});
} else {
	const { binary } = found;
	let bouncer: Promise<PgBouncer> | undefined;
	/** One PgBouncer for the file, started for the server the first database lives on. */
	const through = async (url: string) => {
		bouncer ??= startPgBouncer(url, { binary });
		return (await bouncer).route(url);
	};
	// Registered before runConformance's own: after-hooks run last-registered first, so drivers close before it.
	afterAll(async () => {
		await (await bouncer)?.close();
	});

	await runConformance({
		name: "pool-pgbouncer",
		connect: async (url) => createDriver(await through(url), { preparedStatements: false }),
	});

	describe("pool behind PgBouncer with prepared statements on", () => {
		let database: TestDatabase;
		const optionsOf = { emailAndPassword: { enabled: true } };
		/** A pg client on PgBouncer that holds a server connection by keeping a transaction open. */
		let holder: Client;

		beforeAll(async () => {
			database = await startTestDatabase({ prefix: "pool_pgbouncer_prepared" });
			// Migrated on the server itself: this database's PgBouncer pool starts with no server connection.
			const direct = createDriver(database.url);
			await applyMigrations(direct, optionsOf);
			await direct.close();
			holder = new Client({ connectionString: await through(database.url) });
			holder.on("error", () => {});
			await holder.connect();
		});
		afterAll(async () => {
			await holder?.end();
			await database?.close();
		});

		it("a statement prepared on one server connection and used on another fails with PreparedStatementError naming the option", async () => {
			const stores = createStores({ connectionString: await through(database.url), pool: { max: 1 } });
			try {
				const adapter = stores.adapter(optionsOf);
				const where = [{ field: "email", value: "nobody@example.com" }];
				// Prepared (Parse) on server connection A, PgBouncer's only one for this database so far.
				expect(await adapter.findOne({ model: "user", where })).toBeNull();
				// The holder's transaction takes A; the next statement gets a new server connection B.
				await holder.query("begin");
				await holder.query("select 1");
				try {
					const error = await adapter.findOne({ model: "user", where }).then(
						() => undefined,
						(e: unknown) => e,
					);
					expect(error).toBeInstanceOf(PreparedStatementError);
					expect(error).toMatchObject({ code: "PREPARED_STATEMENT_LOST", sqlState: "26000" });
					expect((error as Error).message).toMatch(/prepared statement "authpg_\w+" does not exist/);
					expect((error as Error).message).toContain("`preparedStatements: false`");
				} finally {
					await holder.query("commit");
				}
			} finally {
				await stores.close();
			}
		});

		it("the same statement prepared by a second client on a server connection that has it fails the same way ('already exists')", async () => {
			const url = await through(database.url);
			const first = createStores({ connectionString: url, pool: { max: 1 } });
			const second = createStores({ connectionString: url, pool: { max: 1 } });
			try {
				// A statement shape no earlier test prepared on any of this database's server connections.
				const where = [{ field: "image", value: "https://example.com/a.png" }];
				// The server connection that served the first client now holds the statement; PgBouncer reuses the
				// most recently used idle one, so it serves the second client too, whose pg has not prepared it.
				expect(await first.adapter(optionsOf).findOne({ model: "user", where })).toBeNull();
				const error = await second
					.adapter(optionsOf)
					.findOne({ model: "user", where })
					.then(
						() => undefined,
						(e: unknown) => e,
					);
				expect(error).toBeInstanceOf(PreparedStatementError);
				expect(error).toMatchObject({ code: "PREPARED_STATEMENT_LOST", sqlState: "42P05" });
				expect((error as Error).message).toMatch(/prepared statement "authpg_\w+" already exists/);
				expect((error as Error).message).toContain("`preparedStatements: false`");
			} finally {
				await Promise.all([first.close(), second.close()]);
			}
		});

		it("with preparedStatements: false the same sequence works", async () => {
			const url = await through(database.url);
			const first = createStores({ connectionString: url, pool: { max: 1 }, preparedStatements: false });
			const second = createStores({ connectionString: url, pool: { max: 1 }, preparedStatements: false });
			try {
				const where = [{ field: "email", value: "someone@example.com" }];
				expect(await first.adapter(optionsOf).findOne({ model: "user", where })).toBeNull();
				await holder.query("begin");
				await holder.query("select 1");
				try {
					expect(await first.adapter(optionsOf).findOne({ model: "user", where })).toBeNull();
				} finally {
					await holder.query("commit");
				}
				expect(await second.adapter(optionsOf).findOne({ model: "user", where })).toBeNull();
			} finally {
				await Promise.all([first.close(), second.close()]);
			}
		});
	});
}
