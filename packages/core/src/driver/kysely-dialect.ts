/**
 * One Kysely dialect over any authpg {@link Driver}, so every driver package
 * can offer a Kysely instance on the same connection or pool.
 *
 * Kysely drives transactions as begin/commit/rollback calls on a connection,
 * while a `Driver` offers only a callback (`transaction(fn)`). The bridge opens
 * the callback at `beginTransaction` and keeps it pending on a deferred that
 * `commitTransaction` resolves and `rollbackTransaction` rejects.
 */

import * as kysely from "kysely";
import {
	type CompiledQuery,
	createQueryId,
	type DatabaseConnection,
	type DatabaseIntrospector,
	type Dialect,
	type DialectAdapter,
	type Driver as KyselyDriver,
	type QueryResult as KyselyQueryResult,
	PostgresAdapter,
	PostgresIntrospector,
	PostgresQueryCompiler,
	type QueryCompiler,
	sql,
	type TransactionSettings,
} from "kysely";
import type { Driver } from "./contract.js";

/**
 * Kysely's error for a COMMIT answered by ROLLBACK (kysely 0.28.19 and
 * 0.29.9 on), which its transaction bookkeeping recognises: custom drivers are
 * asked to throw it. Looked up, not imported, so older 0.28 releases load too.
 */
const KyselyAbortedTransactionError = (kysely as { AbortedTransactionError?: new () => Error }).AbortedTransactionError;

/** Options for {@link kyselyDialect}. */
export interface KyselyDialectOptions {
	/**
	 * Whether `kysely.destroy()` also closes the driver. Default `false`: the
	 * driver usually belongs to the stores, which close it themselves.
	 */
	closeDriverOnDestroy?: boolean;
}

/**
 * A Kysely `Dialect` for Postgres whose statements and transactions run on
 * `driver`. Transactions (`db.transaction()`, `db.startTransaction()`,
 * savepoints) map onto `driver.transaction`, so a single-connection driver
 * holds its other callers while one is open, exactly as for the core's own
 * transactions.
 */
export function kyselyDialect(driver: Driver, options: KyselyDialectOptions = {}): Dialect {
	return {
		createAdapter: (): DialectAdapter => new PostgresAdapter(),
		createDriver: (): KyselyDriver => new DriverBridge(driver, options.closeDriverOnDestroy ?? false),
		createIntrospector: (db): DatabaseIntrospector => new PostgresIntrospector(db),
		createQueryCompiler: (): QueryCompiler => new PostgresQueryCompiler(),
	};
}

/** Rejects the held transaction callback so the driver rolls back; never leaves the bridge. */
const ROLLBACK = Symbol("authpg.kysely.rollback");

/** Query node kinds whose row count is "rows affected" rather than "rows returned". */
const AFFECTING = new Set(["InsertQueryNode", "UpdateQueryNode", "DeleteQueryNode", "MergeQueryNode", "RawNode"]);

/** An open `Driver.transaction` callback, held until Kysely commits or rolls back. */
interface HeldTransaction {
	tx: Driver;
	/** Settle the callback: `undefined` commits, {@link ROLLBACK} rolls back. */
	finish(outcome?: typeof ROLLBACK): void;
	/** Settles when the driver has committed or rolled back. */
	done: Promise<void>;
}

class DriverConnection implements DatabaseConnection {
	#held: HeldTransaction | undefined;
	/** Set when the driver failed a COMMIT: the transaction is over, so Kysely's rollback after it has nothing to do. */
	#commitFailed = false;

	constructor(readonly driver: Driver) {}

	async executeQuery<R>(compiled: CompiledQuery): Promise<KyselyQueryResult<R>> {
		const target = this.#held?.tx ?? this.driver;
		const { rows, rowCount } = await target.query<R>(compiled.sql, compiled.parameters);
		return AFFECTING.has(compiled.query.kind) ? { rows, numAffectedRows: BigInt(rowCount) } : { rows };
	}

	/** Yields the whole result in chunks: a `Driver` has no cursors, so rows are fetched at once. */
	async *streamQuery<R>(compiled: CompiledQuery, chunkSize = 100): AsyncIterableIterator<KyselyQueryResult<R>> {
		if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
			throw new Error("chunkSize must be a positive integer");
		}
		const { rows } = await this.executeQuery<R>(compiled);
		for (let i = 0; i < rows.length; i += chunkSize) {
			yield { rows: rows.slice(i, i + chunkSize) };
		}
	}

	async begin(settings: TransactionSettings): Promise<void> {
		if (this.#held) throw new Error("authpg: a transaction is already open on this Kysely connection");
		this.#commitFailed = false;
		// Validated before opening, so a bad setting cannot leave a transaction holding the connection.
		const setting = transactionCharacteristics(settings);
		let opened!: (tx: Driver) => void;
		let failed!: (error: unknown) => void;
		const txReady = new Promise<Driver>((resolve, reject) => {
			opened = resolve;
			failed = reject;
		});
		let finish!: (outcome?: typeof ROLLBACK) => void;
		const outcome = new Promise<void>((resolve, reject) => {
			finish = (result) => (result === ROLLBACK ? reject(ROLLBACK) : resolve());
		});
		const done = this.driver.transaction(async (tx) => {
			opened(tx);
			await outcome;
		});
		// Also observes `done`, so a failed BEGIN cannot become an unhandled rejection; a no-op once opened.
		done.then(() => failed(new Error("authpg: the transaction ended before it opened")), failed);
		const tx = await txReady;
		const held: HeldTransaction = { tx, finish, done };
		this.#held = held;
		if (setting) {
			try {
				await tx.query(`set transaction ${setting}`, []);
			} catch (error) {
				await this.rollback();
				throw error;
			}
		}
	}

	async commit(): Promise<void> {
		const held = this.#take();
		held.finish();
		try {
			await held.done;
		} catch (error) {
			this.#commitFailed = true;
			// The driver's TransactionRolledBackError (by code: the application may hold another copy of the core).
			if (KyselyAbortedTransactionError && (error as { code?: unknown })?.code === "TRANSACTION_ROLLED_BACK") {
				throw Object.assign(new KyselyAbortedTransactionError(), { cause: error });
			}
			throw error;
		}
	}

	async rollback(): Promise<void> {
		// Kysely before 0.28.19 rolls back after any failed commit; throwing here would hide the commit's error.
		if (!this.#held && this.#commitFailed) {
			this.#commitFailed = false;
			return;
		}
		const held = this.#take();
		held.finish(ROLLBACK);
		await held.done.catch((error: unknown) => {
			if (error !== ROLLBACK) throw error;
		});
	}

	#take(): HeldTransaction {
		const held = this.#held;
		if (!held) throw new Error("authpg: no transaction is open on this Kysely connection");
		this.#held = undefined;
		return held;
	}
}

class DriverBridge implements KyselyDriver {
	constructor(
		readonly driver: Driver,
		readonly closeDriverOnDestroy: boolean,
	) {}

	async init(): Promise<void> {}

	async acquireConnection(): Promise<DatabaseConnection> {
		// Connections are views onto the driver: the driver does its own pooling or queueing.
		return new DriverConnection(this.driver);
	}

	beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
		return asBridged(connection).begin(settings);
	}

	commitTransaction(connection: DatabaseConnection): Promise<void> {
		return asBridged(connection).commit();
	}

	rollbackTransaction(connection: DatabaseConnection): Promise<void> {
		return asBridged(connection).rollback();
	}

	async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]): Promise<void> {
		await connection.executeQuery(compile(sql`savepoint ${sql.id(name)}`.toOperationNode(), createQueryId()));
	}

	async rollbackToSavepoint(
		connection: DatabaseConnection,
		name: string,
		compile: QueryCompiler["compileQuery"],
	): Promise<void> {
		await connection.executeQuery(compile(sql`rollback to ${sql.id(name)}`.toOperationNode(), createQueryId()));
	}

	async releaseSavepoint(
		connection: DatabaseConnection,
		name: string,
		compile: QueryCompiler["compileQuery"],
	): Promise<void> {
		await connection.executeQuery(compile(sql`release ${sql.id(name)}`.toOperationNode(), createQueryId()));
	}

	async releaseConnection(): Promise<void> {}

	async destroy(): Promise<void> {
		if (this.closeDriverOnDestroy) await this.driver.close();
	}
}

function asBridged(connection: DatabaseConnection): DriverConnection {
	if (!(connection instanceof DriverConnection)) {
		throw new Error("authpg: connection was not created by this dialect");
	}
	return connection;
}

const ISOLATION_LEVELS = new Set(["read uncommitted", "read committed", "repeatable read", "serializable"]);
const ACCESS_MODES = new Set(["read only", "read write"]);

/** The `SET TRANSACTION` clause for Kysely's settings; checked against a list because it is spliced into SQL. */
function transactionCharacteristics({ isolationLevel, accessMode }: TransactionSettings): string | undefined {
	const parts: string[] = [];
	if (isolationLevel) {
		if (!ISOLATION_LEVELS.has(isolationLevel)) {
			throw new Error(`authpg: Postgres has no isolation level "${isolationLevel}"`);
		}
		parts.push(`isolation level ${isolationLevel}`);
	}
	if (accessMode) {
		if (!ACCESS_MODES.has(accessMode)) throw new Error(`authpg: unknown access mode "${accessMode}"`);
		parts.push(accessMode);
	}
	return parts.length > 0 ? parts.join(" ") : undefined;
}
