import { applyMigrations, type Driver, kyselyDialect, TransactionRolledBackError } from "@authpg/core";
import { betterAuth } from "better-auth";
import * as kysely from "kysely";
import { type Generated, Kysely, sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { reportsCaughtFailureItself } from "./driver-contract.js";

/** Kept apart from the other suites' namespaces, so they can share one database. */
const NAMESPACE = "authpg_kysely";

interface Database {
	items: { id: Generated<number>; label: string; created_at: Generated<Date> };
}

/**
 * `kyselyDialect(driver)`: statements, affected-row counts, callback and
 * controlled transactions (with savepoints) bridged onto `Driver.transaction`,
 * transaction settings, streaming, introspection, and Better Auth running on
 * the dialect as `database: { dialect, type: "postgres", transaction: true }`.
 */
export function kyselySuite(driver: () => Driver): void {
	describe("kysely dialect", () => {
		let db: Kysely<Database>;

		async function labels(): Promise<string[]> {
			const { rows } = await driver().query<{ label: string }>(`select label from ${NAMESPACE}.items order by id`, []);
			return rows.map((row) => row.label);
		}

		beforeAll(async () => {
			await driver().query(`drop schema if exists ${NAMESPACE} cascade`, []);
			await driver().query(`create schema ${NAMESPACE}`, []);
			await driver().query(
				`create table ${NAMESPACE}.items (id serial primary key, label text not null unique, created_at timestamptz not null default now())`,
				[],
			);
			db = new Kysely<Database>({
				dialect: kyselyDialect(driver()),
			}).withSchema(NAMESPACE);
		});

		afterAll(async () => {
			await db?.destroy();
			await driver().query(`drop schema if exists ${NAMESPACE} cascade`, []);
		});

		beforeEach(async () => {
			await driver().query(`truncate ${NAMESPACE}.items restart identity`, []);
		});

		it("runs statements outside a transaction, with converted values and affected-row counts", async () => {
			await db
				.insertInto("items")
				.values([{ label: "a" }, { label: "b" }])
				.execute();
			const row = await db.selectFrom("items").selectAll().where("label", "=", "a").executeTakeFirstOrThrow();
			expect(row.created_at).toBeInstanceOf(Date);
			const update = await db.updateTable("items").set({ label: sql`label || '!'` }).executeTakeFirst();
			expect(update.numUpdatedRows).toBe(2n);
			const removed = await db.deleteFrom("items").where("label", "=", "a!").executeTakeFirst();
			expect(removed.numDeletedRows).toBe(1n);
			expect(await labels()).toEqual(["b!"]);
		});

		it("commits db.transaction() when the callback resolves", async () => {
			const result = await db.transaction().execute(async (trx) => {
				await trx.insertInto("items").values({ label: "one" }).execute();
				await trx.insertInto("items").values({ label: "two" }).execute();
				return "done";
			});
			expect(result).toBe("done");
			expect(await labels()).toEqual(["one", "two"]);
		});

		it("rolls db.transaction() back and rethrows when the callback throws", async () => {
			const boom = new Error("boom");
			await expect(
				db.transaction().execute(async (trx) => {
					await trx.insertInto("items").values({ label: "doomed" }).execute();
					throw boom;
				}),
			).rejects.toBe(boom);
			expect(await labels()).toEqual([]);
			// A driver that holds its connection for the transaction must have let it go.
			expect(await db.selectFrom("items").select("id").execute()).toEqual([]);
		});

		it("rolls back on an SQL error inside db.transaction()", async () => {
			await expect(
				db.transaction().execute(async (trx) => {
					await trx.insertInto("items").values({ label: "x" }).execute();
					await trx.insertInto("items").values({ label: "x" }).execute();
				}),
			).rejects.toMatchObject({ code: "23505" });
			expect(await labels()).toEqual([]);
		});

		it("rejects a commit Postgres answers with ROLLBACK with Kysely's AbortedTransactionError, keeping nothing", async () => {
			const error = await db
				.transaction()
				.execute(async (trx) => {
					await trx.insertInto("items").values({ label: "x" }).execute();
					// Caught, but the transaction is aborted: its COMMIT comes back as ROLLBACK.
					await trx
						.insertInto("items")
						.values({ label: "x" })
						.execute()
						.catch(() => {});
				})
				.then(
					() => undefined,
					(failure: unknown) => failure,
				);
			const Aborted = (kysely as { AbortedTransactionError?: new () => Error }).AbortedTransactionError;
			if (reportsCaughtFailureItself(driver())) expect(error).toMatchObject({ code: "23505" });
			else if (Aborted) {
				expect(error).toBeInstanceOf(Aborted);
				expect((error as Error).cause).toBeInstanceOf(TransactionRolledBackError);
			} else expect(error).toBeInstanceOf(TransactionRolledBackError);
			expect(await labels()).toEqual([]);
			// The connection (or session) is usable afterwards.
			await db.transaction().execute((trx) => trx.insertInto("items").values({ label: "after" }).execute());
			expect(await labels()).toEqual(["after"]);
		});

		it("commits and rolls back controlled transactions, with savepoints", async () => {
			const kept = await db.startTransaction().execute();
			await kept.insertInto("items").values({ label: "kept" }).execute();
			const afterSavepoint = await kept.savepoint("sp").execute();
			await afterSavepoint.insertInto("items").values({ label: "undone" }).execute();
			const rolledBack = await afterSavepoint.rollbackToSavepoint("sp").execute();
			await rolledBack.insertInto("items").values({ label: "kept-2" }).execute();
			await rolledBack.commit().execute();
			expect(await labels()).toEqual(["kept", "kept-2"]);

			const dropped = await db.startTransaction().execute();
			await dropped.insertInto("items").values({ label: "dropped" }).execute();
			await dropped.rollback().execute();
			expect(await labels()).toEqual(["kept", "kept-2"]);
		});

		it("applies isolation level and access mode", async () => {
			const settings = await db
				.transaction()
				.setIsolationLevel("serializable")
				.setAccessMode("read only")
				.execute(async (trx) => {
					const isolation = await sql<{
						v: string;
					}>`select current_setting('transaction_isolation') as v`.execute(trx);
					const readOnly = await sql<{
						v: string;
					}>`select current_setting('transaction_read_only') as v`.execute(trx);
					return [isolation.rows[0]?.v, readOnly.rows[0]?.v];
				});
			expect(settings).toEqual(["serializable", "on"]);
			await expect(
				db
					.transaction()
					.setAccessMode("read only")
					.execute((trx) => trx.insertInto("items").values({ label: "no" }).execute()),
			).rejects.toMatchObject({ code: "25006" });
			expect(await labels()).toEqual([]);
		});

		it("streams rows in chunks", async () => {
			await db
				.insertInto("items")
				.values(["a", "b", "c", "d", "e"].map((label) => ({ label })))
				.execute();
			const seen: string[] = [];
			for await (const row of db.selectFrom("items").select("label").orderBy("id").stream(2)) {
				seen.push(row.label);
			}
			expect(seen).toEqual(["a", "b", "c", "d", "e"]);
		});

		it("introspects the schema", async () => {
			const tables = await db.introspection.getTables();
			const table = tables.find((t) => t.schema === NAMESPACE && t.name === "items");
			expect(table?.columns.map((c) => c.name).sort()).toEqual(["created_at", "id", "label"]);
		});

		it("leaves the driver open when the Kysely instance is destroyed", async () => {
			const other = new Kysely<Database>({ dialect: kyselyDialect(driver()) });
			await other.destroy();
			const { rows } = await driver().query<{ one: number }>("select 1 as one", []);
			expect(rows).toEqual([{ one: 1 }]);
		});

		it("runs Better Auth on the dialect: sign-up, then the session from its cookie", async () => {
			// Better Auth's Kysely path finds its tables through search_path, so they have to live in `public`.
			await driver().query("drop schema if exists public cascade", []);
			await driver().query("create schema public", []);
			try {
				const options = { emailAndPassword: { enabled: true } };
				await applyMigrations(driver(), options);
				const auth = betterAuth({
					...options,
					database: {
						dialect: kyselyDialect(driver()),
						type: "postgres",
						transaction: true,
					},
					secret: "x".repeat(32),
					baseURL: "http://localhost:3000",
				});
				const email = `kysely-${Math.random().toString(36).slice(2, 10)}@example.com`;
				const signUp = await auth.api.signUpEmail({
					body: { email, password: "correct horse battery", name: "Kysely" },
					returnHeaders: true,
				});
				expect(signUp.response.user.email).toBe(email);
				const cookie = signUp.headers
					.getSetCookie()
					.map((header) => header.split(";")[0])
					.join("; ");
				expect(cookie).toContain("session_token");
				const session = await auth.api.getSession({
					headers: new Headers({ cookie }),
				});
				expect(session?.user.email).toBe(email);
				expect(session?.session.userId).toBe(signUp.response.user.id);
				const { rows } = await driver().query<{ n: string }>(
					'select count(*) as n from public."session" where "userId" = $1',
					[signUp.response.user.id],
				);
				expect(Number(rows[0]?.n)).toBe(1);
			} finally {
				// Leave `public` empty for whichever suite shares the database next.
				await driver().query("drop schema if exists public cascade", []);
				await driver().query("create schema public", []);
			}
		});
	});
}
