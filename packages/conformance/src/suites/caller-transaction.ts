import { CallerTransactionNotSupportedByDriverError, type Driver, type Stores } from "@authpg/core";
import { storesFor } from "@authpg/core/driver";
import { betterAuth } from "better-auth";
import { beforeAll, describe, expect, it } from "vitest";
import type { SuiteContext } from "./index.js";
import { signal } from "./signal.js";

const NS = "authpg_caller_tx";
const OPTIONS = { emailAndPassword: { enabled: true } };

/** A driver that records each `transaction` call as a new transaction or a savepoint (a call on a `tx`). */
function recordingDriver(inner: Driver, log: string[], depth = 0): Driver {
	return {
		name: inner.name,
		capabilities: inner.capabilities,
		query: (sql, params, opts) => inner.query(sql, params, opts),
		transaction(fn) {
			log.push(depth === 0 ? "transaction" : "savepoint");
			return inner.transaction((tx) => fn(recordingDriver(tx, log, depth + 1)));
		},
		close: () => inner.close(),
	};
}

function authOn(stores: Stores) {
	return betterAuth(
		stores.applyTo({
			...OPTIONS,
			baseURL: "http://localhost:3000",
			secret: "authpg-conformance-secret-0123456789abcdef",
		}),
	);
}

const unique = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}@example.com`;
const signUp = (auth: ReturnType<typeof authOn>, email: string) =>
	auth.api.signUpEmail({ body: { email, password: "correct horse battery", name: email } });

/** Resolves after `ms`, with `value`. */
const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

/**
 * `stores.transaction`: the application's statements and Better Auth's calls
 * in one Postgres transaction, on every driver; a driver without interactive
 * transactions refuses it with a typed error.
 */
export function callerTransactionSuite(context: SuiteContext) {
	const { driver } = context;
	describe("the application's own transaction around Better Auth calls", () => {
		const log: string[] = [];
		let stores: Stores;
		let auth: ReturnType<typeof authOn>;
		const count = async (sql: string, params: unknown[], session: Pick<Driver, "query"> = driver()) =>
			Number((await session.query<{ n: string }>(`select count(*) as n from ${sql}`, params)).rows[0]?.n);
		const users = (email: string, session?: Pick<Driver, "query">) =>
			count(`${NS}."user" where email = $1`, [email], session);
		const profiles = (email: string) => count(`${NS}.profile where email = $1`, [email]);

		beforeAll(async () => {
			stores = storesFor(recordingDriver(driver(), log), { schema: NS, secondaryStorage: true }, async () => {});
			auth = authOn(stores);
			if (!driver().capabilities.transactions) return;
			await driver().query(`drop schema if exists ${NS} cascade`, []);
			await stores.migrate(OPTIONS);
			await driver().query(`create table ${NS}.profile (email text primary key, bio text not null)`, []);
		});

		it("a driver without interactive transactions refuses with a typed error and runs nothing", async () => {
			const inner = driver();
			const withoutTransactions: Driver = {
				name: inner.name,
				capabilities: { ...inner.capabilities, transactions: false },
				query: (sql, params, opts) => inner.query(sql, params, opts),
				transaction: (fn) => inner.transaction(fn),
				close: async () => {},
			};
			const refusing = storesFor(withoutTransactions, { schema: NS }, async () => {});
			let ran = false;
			await expect(
				refusing.transaction(async () => {
					ran = true;
				}),
			).rejects.toBeInstanceOf(CallerTransactionNotSupportedByDriverError);
			expect(ran).toBe(false);
		});

		const transactional = () => driver().capabilities.transactions;

		it("success keeps the profile row and the user; Better Auth's transaction became a savepoint", async () => {
			if (!transactional()) return;
			const email = unique("both");
			log.length = 0;
			const other = context.connect ? await context.connect() : undefined;
			try {
				await stores.transaction(async (tx) => {
					await tx.kysely.insertInto(`${NS}.profile`).values({ email, bio: "kept" }).execute();
					const { user } = await signUp(auth, email);
					expect(user.email).toBe(email);
					// The transaction sees its own writes; another session does not, yet.
					expect(await users(email, tx)).toBe(1);
					if (other) expect(await users(email, other)).toBe(0);
				});
			} finally {
				await other?.close();
			}
			expect(await users(email)).toBe(1);
			expect(await profiles(email)).toBe(1);
			expect(log[0]).toBe("transaction");
			expect(log.length).toBeGreaterThan(1);
			expect(log.slice(1).every((entry) => entry === "savepoint")).toBe(true);
		});

		it("a throw after both leaves neither", async () => {
			if (!transactional()) return;
			const email = unique("neither");
			const boom = new Error("application failure after the sign-up");
			await expect(
				stores.transaction(async (tx) => {
					await tx.query(`insert into ${NS}.profile (email, bio) values ($1, 'dropped')`, [email]);
					await signUp(auth, email);
					throw boom;
				}),
			).rejects.toBe(boom);
			expect(await users(email)).toBe(0);
			expect(await profiles(email)).toBe(0);
			// The session Better Auth wrote to the secondary storage went with it.
			expect(await count(`${NS}.authpg_kv where value like $1`, [`%${email}%`])).toBe(0);
		});

		it("a sign-up that fails inside (duplicate email) rolls back only its savepoint when caught", async () => {
			if (!transactional()) return;
			const email = unique("dup");
			const other = context.connect ? await context.connect() : undefined;
			try {
				await stores.transaction(async (tx) => {
					await tx.query(`insert into ${NS}.profile (email, bio) values ($1, 'first')`, [email]);
					await signUp(auth, email);
					await expect(signUp(auth, email)).rejects.toThrow();
					// The first sign-up is still part of this open transaction, not committed on its own.
					expect(await users(email, tx)).toBe(1);
					if (other) expect(await users(email, other)).toBe(0);
					// A statement that fails in a nested transaction, caught: only that savepoint is lost.
					await expect(
						stores.transaction((inner) =>
							inner.query(`insert into ${NS}.profile (email, bio) values ($1, 'duplicate')`, [email]),
						),
					).rejects.toThrow();
					await tx.query(`update ${NS}.profile set bio = 'after' where email = $1`, [email]);
				});
			} finally {
				await other?.close();
			}
			expect(await users(email)).toBe(1);
			const { rows } = await driver().query<{ bio: string }>(`select bio from ${NS}.profile where email = $1`, [email]);
			expect(rows).toEqual([{ bio: "after" }]);
		});

		it("two concurrent transactions see only their own rows and both commit", async () => {
			if (!transactional()) return;
			// Whether this driver runs two transactions at once (a pool) or one after the other (one
			// connection): a statement from elsewhere either completes while a transaction is held open, or waits.
			const { promise: held, resolve: release } = signal();
			const { promise: inside, resolve: entered } = signal();
			const holder = driver().transaction(async () => {
				entered();
				await held;
			});
			await inside;
			const probe = driver().query("select 1", []);
			const parallel = await Promise.race([probe.then(() => true), after(2000, false)]);
			release();
			await holder;
			await probe;

			const emails = [unique("left"), unique("right")];
			const { promise: written, resolve: bothWritten } = signal();
			const { promise: read, resolve: bothRead } = signal();
			let pending = 2;
			let reading = 2;
			const run = (mine: string, theirs: string) =>
				stores.transaction(async (tx) => {
					await tx.query(`insert into ${NS}.profile (email, bio) values ($1, 'concurrent')`, [mine]);
					await signUp(auth, mine);
					if (--pending === 0) bothWritten();
					// With two connections, both transactions are open with their rows written before either reads.
					if (parallel) await written;
					const { rows } = await tx.query<{ email: string }>(
						`select email from ${NS}."user" where email = any($1::text[]) order by email`,
						[[mine, theirs]],
					);
					// ... and neither commits before both have read (READ COMMITTED would then show its row).
					if (--reading === 0) bothRead();
					if (parallel) await read;
					return rows.map((row) => row.email);
				});
			const [left, right] = await Promise.all([run(emails[0]!, emails[1]!), run(emails[1]!, emails[0]!)]);
			if (parallel) {
				expect(left).toEqual([emails[0]]);
				expect(right).toEqual([emails[1]]);
			} else {
				// The probe waited: one connection (or a pool too slow to tell, on a loaded machine). Each still
				// sees its own row; whether it also sees the other's depends on who committed first.
				expect(left).toContain(emails[0]);
				expect(right).toContain(emails[1]);
			}
			for (const email of emails) {
				expect(await users(email)).toBe(1);
				expect(await profiles(email)).toBe(1);
			}
		});
	});
}
