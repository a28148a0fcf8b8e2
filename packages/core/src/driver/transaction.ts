/**
 * Transactions with savepoints over one dedicated connection, for every
 * driver that holds its own connection (one client, or a client checked out
 * of a pool). No driver, no Node built-ins: this runs wherever the core runs.
 */

import { AuthpgError } from "../errors.js";
import type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./contract.js";
import { createGate } from "./gate.js";

/** A statement's result as a connection reports it, with the command tag when the client gives one. */
export interface StatementResult<R> extends QueryResult<R> {
	/** Command tag of the statement, e.g. `"COMMIT"`, `"ROLLBACK"`, `"INSERT"`. */
	command?: string;
}

/**
 * Runs one statement on one dedicated connection. The helpers here never call
 * it while a previous call is still pending, so it may assume exclusive use.
 */
export type RunStatement = <R = Record<string, unknown>>(
	sql: string,
	params: readonly unknown[],
	opts?: QueryOptions,
) => Promise<StatementResult<R>>;

/** One dedicated connection, as {@link runTransaction} needs it. */
export interface DedicatedConnection {
	/** Name reported by the `tx` drivers (usually the owning driver's name). */
	readonly name: string;
	readonly capabilities: DriverCapabilities;
	readonly run: RunStatement;
}

/**
 * Thrown by {@link runTransaction} when `fn` resolved but Postgres answered
 * `COMMIT` with `ROLLBACK`: a statement inside failed and its error was caught,
 * so none of the transaction's work was kept.
 */
export class TransactionRolledBackError extends AuthpgError {
	constructor() {
		super(
			"TRANSACTION_ROLLED_BACK",
			"The transaction was rolled back instead of committed: a statement in it failed and its error was caught. None of its changes were kept.",
		);
	}
}

/**
 * Run `fn` in one transaction on `connection`: `BEGIN`, then `COMMIT` when
 * `fn` resolves or `ROLLBACK` (and rethrow) when it rejects.
 *
 * `fn` receives a `tx` driver bound to the connection. Statements on it are
 * sent one at a time in call order, so callers may issue them concurrently.
 * `tx.transaction` opens a savepoint (`SAVEPOINT` / `RELEASE` /
 * `ROLLBACK TO`), with names unique within the transaction; sibling savepoints
 * run one after another. Once a scope has finished, its `tx` rejects further
 * statements, so a leaked `tx` can never run outside its transaction.
 *
 * A failed `ROLLBACK` is not reported here (the original error wins); the
 * driver sees it through its own `run` and should then discard the connection.
 */
export async function runTransaction<T>(connection: DedicatedConnection, fn: (tx: Driver) => Promise<T>): Promise<T> {
	const serial = createGate();
	const run: RunStatement = (sql, params, opts) => serial.run(() => connection.run(sql, params, opts));
	await run("BEGIN", []);
	const root = new Scope(connection, run, { savepoints: 0 }, undefined);
	let result: T;
	try {
		result = await fn(root.driver);
	} catch (error) {
		root.end();
		await run("ROLLBACK", []).catch(ignore);
		throw error;
	}
	root.end();
	let commit: StatementResult<unknown>;
	try {
		commit = await run("COMMIT", []);
	} catch (error) {
		// A failed COMMIT has usually ended the transaction already; this makes sure, and is harmless if so.
		await run("ROLLBACK", []).catch(ignore);
		throw error;
	}
	if (commit.command !== undefined && commit.command.toUpperCase() === "ROLLBACK") {
		throw new TransactionRolledBackError();
	}
	return result;
}

/** Per-transaction state shared by a scope and its savepoints. */
interface TransactionState {
	savepoints: number;
}

/** One level of a transaction: the transaction itself or a savepoint inside it. */
class Scope {
	readonly driver: Driver;
	#ended = false;
	readonly #children = createGate();

	constructor(
		private readonly connection: DedicatedConnection,
		private readonly run: RunStatement,
		private readonly state: TransactionState,
		private readonly parent: Scope | undefined,
	) {
		this.driver = {
			name: connection.name,
			capabilities: connection.capabilities,
			query: <R>(sql: string, params: readonly unknown[], opts?: QueryOptions) => this.#query<R>(sql, params, opts),
			transaction: (fn) => this.#children.run(() => this.#savepoint(fn)),
			// The connection belongs to the driver that opened the transaction.
			close: async () => {},
		};
	}

	end(): void {
		this.#ended = true;
	}

	async #query<R>(sql: string, params: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
		this.#assertOpen();
		const { rows, rowCount } = await this.run<R>(sql, params, opts);
		return { rows, rowCount };
	}

	/** Whether this scope or any scope around it has finished. */
	isEnded(): boolean {
		return this.#ended || (this.parent?.isEnded() ?? false);
	}

	#assertOpen(): void {
		if (this.isEnded()) {
			throw new Error("authpg: this transaction has already finished; statements can no longer run on its `tx`.");
		}
	}

	async #savepoint<T>(fn: (tx: Driver) => Promise<T>): Promise<T> {
		this.#assertOpen();
		const name = `authpg_sp_${++this.state.savepoints}`;
		await this.run(`SAVEPOINT ${name}`, []);
		const child = new Scope(this.connection, this.run, this.state, this);
		try {
			const result = await fn(child.driver);
			child.end();
			// Fails when a caught error left the transaction aborted; the catch below then recovers it.
			await this.run(`RELEASE SAVEPOINT ${name}`, []);
			return result;
		} catch (error) {
			child.end();
			// If this fails too, the outer transaction stays aborted and its COMMIT reports it.
			await this.run(`ROLLBACK TO SAVEPOINT ${name}`, []).catch(ignore);
			throw error;
		}
	}
}

function ignore(): void {}
