/**
 * Connection-level helpers shared by every driver that holds its own
 * connection (one client, or a client checked out of a pool): a FIFO gate,
 * transactions with savepoints over one dedicated connection, and a bounded
 * set of prepared statement names. Driver packages stay thin by reusing these.
 *
 * No driver, no Node built-ins: this runs wherever the core runs.
 */

import { type AsyncLocalStorage, getAsyncLocalStorage } from "@better-auth/core/async_hooks";
import type { Driver, DriverCapabilities, QueryOptions, QueryResult } from "./contract.js";
import { AuthpgError } from "../errors.js";

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

/** A FIFO async mutex: tasks run one at a time, in the order they were handed in. */
export interface Gate {
	/** Run `task` once every task handed in before it has settled; settles as `task` does. */
	run<T>(task: () => Promise<T>): Promise<T>;
}

/**
 * Create a {@link Gate}. Not reentrant: a task that awaits another task on the
 * same gate waits forever, so code running under a gate must use a different
 * path (for a transaction, its `tx`).
 */
export function createGate(): Gate {
	let tail: Promise<unknown> = Promise.resolve();
	return {
		run<T>(task: () => Promise<T>): Promise<T> {
			const result = tail.then(task);
			// The chain must survive a failed task; the caller still sees the failure through `result`.
			tail = result.then(ignore, ignore);
			return result;
		},
	};
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

/**
 * Default bound on prepared statements per connection. Postgres keeps a plan
 * per statement per session; a few hundred covers every statement shape the
 * core compiles for a typical Better Auth setup.
 */
export const DEFAULT_MAX_PREPARED_STATEMENTS = 256;

/**
 * A bounded, least-recently-used set of the statement names prepared on one
 * connection. Postgres keeps every named statement for the life of the
 * session, so without a bound a long-lived connection grows without limit.
 */
export class PreparedStatementNames {
	readonly #names = new Map<string, true>();

	/** @param max Most names kept prepared at once; at least 1. */
	constructor(readonly max: number) {
		if (!Number.isInteger(max) || max < 1) {
			throw new RangeError(`maxPreparedStatements must be a positive integer, got ${max}`);
		}
	}

	/** How many names are currently tracked. */
	get size(): number {
		return this.#names.size;
	}

	/** Whether `name` is currently tracked as prepared. */
	has(name: string): boolean {
		return this.#names.has(name);
	}

	/**
	 * Mark `name` most recently used if it is tracked, synchronously; the hot
	 * path, where {@link admit} would cost a promise.
	 *
	 * @returns whether `name` was tracked (and so may be sent with its name).
	 */
	touch(name: string): boolean {
		if (!this.#names.delete(name)) return false;
		this.#names.set(name, true);
		return true;
	}

	/**
	 * Call on the connection, under its gate, before sending a statement named
	 * `name`. Marks it most recently used; when it is new and the set is full,
	 * first calls `deallocate` for the least recently used name.
	 *
	 * @returns `true` when the statement may be sent with its name; `false`
	 * when making room failed (e.g. inside an aborted transaction), in which
	 * case it should be sent unnamed.
	 */
	async admit(name: string, deallocate: (victim: string) => Promise<void>): Promise<boolean> {
		if (this.touch(name)) return true;
		if (this.#names.size >= this.max) {
			const victim = this.#names.keys().next().value as string;
			try {
				await deallocate(victim);
			} catch {
				return false;
			}
			this.#names.delete(victim);
		}
		this.#names.set(name, true);
		return true;
	}

	/** Stop tracking `name` (e.g. its statement no longer exists on the server). */
	delete(name: string): void {
		this.#names.delete(name);
	}

	/** Stop tracking every name (e.g. the session was reset). */
	clear(): void {
		this.#names.clear();
	}
}

function ignore(): void {}

/**
 * Remembers, per async context, the transaction a single-connection driver is
 * running, so a statement issued from inside it through the driver itself
 * (say, Better Auth writing its secondary storage in the middle of a sign-up
 * transaction) joins the transaction instead of queueing behind it forever.
 * Statements from other contexts still wait their turn at the gate.
 */
export interface TransactionScope {
	/** The transaction whose callback the current async context runs in, while it is open. */
	current(): Driver | undefined;
	/** Run `fn` with `tx` as the current transaction of its async context. */
	run<T>(tx: Driver, fn: () => Promise<T>): Promise<T>;
}

interface ScopeEntry {
	tx: Driver;
	open: boolean;
}

/** A {@link TransactionScope} over the runtime's AsyncLocalStorage (Node, Workers with nodejs_compat, Vercel Edge). */
export function createTransactionScope(): TransactionScope {
	let storage: AsyncLocalStorage<ScopeEntry> | undefined;
	return {
		current() {
			const entry = storage?.getStore();
			return entry?.open ? entry.tx : undefined;
		},
		async run(tx, fn) {
			storage ??= new (await getAsyncLocalStorage())<ScopeEntry>();
			const entry: ScopeEntry = { tx, open: true };
			try {
				return await storage.run(entry, fn);
			} finally {
				// Work the callback left running must not reach a finished transaction.
				entry.open = false;
			}
		},
	};
}
