/**
 * An authpg `Driver` over a node-postgres `pg.Pool`, written from the contract alone: nothing from
 * the kit (`@authpg/core/driver`), only the `Driver` type and the one error the contract names.
 * docs/adding-a-driver.md walks through it; `test/conformance.test.ts` runs the whole conformance
 * suite on it. (`@authpg/pool` is the same driver built from the kit, with prepared statements.)
 */
import { type Driver, type QueryResult, TransactionRolledBackError } from "@authpg/core";
import type pg from "pg";

const capabilities = { transactions: true, preparedStatements: false } as const;

/** node-postgres already hands values back as the contract asks (timestamptz → Date, jsonb parsed, int8 as text). */
function toResult<R>(result: pg.QueryResult): QueryResult<R> {
	return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
}

/** A Postgres error carries a five-character SQLSTATE; anything else means the connection itself failed. */
const isStatementError = (error: unknown) => /^[0-9A-Z]{5}$/.test(String((error as { code?: unknown })?.code));

const finished = () =>
	new Error("example driver: this transaction has already finished; its `tx` can no longer run statements.");

/** A driver over `pool`; `close()` ends the pool. */
export function exampleDriver(pool: pg.Pool): Driver {
	// The pool drops an idle client whose connection died, and says so with an 'error' event: unheard, it ends the process.
	pool.on("error", () => {});
	let closing: Promise<void> | undefined;
	return {
		name: "example",
		capabilities,
		async query<R>(sql: string, params: readonly unknown[]) {
			// pool.query checks a client out for one statement and gives it back.
			return toResult<R>(await pool.query(sql, params as unknown[]));
		},
		async transaction<T>(fn: (tx: Driver) => Promise<T>) {
			const client = await pool.connect();
			// A checked-out client has no pool listener: an unheard error (a dropped socket) would end the process.
			let broken: Error | undefined;
			const onError = (error: Error) => {
				broken ??= error;
			};
			client.on("error", onError);
			try {
				return await inTransaction(client, fn);
			} catch (error) {
				if (!isStatementError(error)) broken ??= error as Error;
				throw error;
			} finally {
				client.off("error", onError);
				// With an error, the pool destroys the client instead of handing out a broken session.
				client.release(broken);
			}
		},
		close() {
			closing ??= pool.end();
			return closing;
		},
	};
}

/**
 * `BEGIN`, `fn(tx)`, then `COMMIT`, or `ROLLBACK` and rethrow. Statements on the one client go out
 * in call order; `tx.transaction` is a savepoint, siblings one after another; a `tx` refuses to
 * run once its scope has ended.
 */
async function inTransaction<T>(client: pg.PoolClient, fn: (tx: Driver) => Promise<T>): Promise<T> {
	let last: Promise<unknown> = Promise.resolve();
	const run = (sql: string, params: readonly unknown[] = []) => {
		const result = last.then(() => client.query(sql, params as unknown[]));
		last = result.catch(() => {});
		return result;
	};
	let savepoints = 0;

	/** One level of the transaction: its `tx` driver, and `end()` once the level is over. */
	function scope(parentOpen: () => boolean) {
		let ended = false;
		const open = () => !ended && parentOpen();
		let children: Promise<unknown> = Promise.resolve();

		async function savepoint<U>(inner: (tx: Driver) => Promise<U>): Promise<U> {
			if (!open()) throw finished();
			const name = `example_sp_${++savepoints}`;
			await run(`savepoint ${name}`);
			const child = scope(open);
			try {
				const value = await inner(child.tx);
				child.end();
				await run(`release savepoint ${name}`);
				return value;
			} catch (error) {
				child.end();
				await run(`rollback to savepoint ${name}`).catch(() => {});
				throw error;
			}
		}

		const tx: Driver = {
			name: "example",
			capabilities,
			async query<R>(sql: string, params: readonly unknown[]) {
				if (!open()) throw finished();
				return toResult<R>(await run(sql, params));
			},
			transaction<U>(inner: (tx: Driver) => Promise<U>) {
				// Interleaved, a sibling's statements would land inside this savepoint and share its fate.
				const result = children.then(() => savepoint(inner));
				children = result.catch(() => {});
				return result;
			},
			// The client belongs to the transaction; the outer driver gives it back.
			close: async () => {},
		};
		const end = () => {
			ended = true;
		};
		return { tx, end };
	}

	await run("begin");
	const root = scope(() => true);
	let value: T;
	try {
		value = await fn(root.tx);
	} catch (error) {
		root.end();
		await run("rollback").catch(() => {});
		throw error;
	}
	root.end();
	const commit = await run("commit");
	// Postgres answers COMMIT with ROLLBACK when a statement inside failed and the error was caught.
	if (commit.command === "ROLLBACK") throw new TransactionRolledBackError();
	return value;
}
