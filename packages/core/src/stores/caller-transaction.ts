/**
 * The application's own transaction around Better Auth calls
 * (`stores.transaction`). The open transaction is carried in the async
 * context, and every store built by `storesFor` talks to the database through
 * {@link joinCallerTransactions}, so a statement issued from inside the
 * callback — by the application, by Better Auth's adapter, by the rate-limit
 * store, the secondary storage or the key store — runs in that transaction,
 * whichever driver is underneath.
 */

import { Kysely } from "kysely";
import type { Driver, QueryOptions, QueryResult } from "../driver/contract.js";
import { kyselyDialect } from "../driver/kysely-dialect.js";
import { TransactionContext } from "../driver/transaction-context.js";
import { AuthpgError } from "../errors.js";
import { readsFromPrimary, runOnPrimary, unmarked } from "./primary-reads.js";

/** What the callback of `stores.transaction` receives. */
export interface CallerTransaction {
	/** The transaction as a driver; `driver.transaction` opens a savepoint. */
	readonly driver: Driver;
	/** Run one parameterised statement in the transaction. */
	query<R = Record<string, unknown>>(
		sql: string,
		params?: readonly unknown[],
		opts?: QueryOptions,
	): Promise<QueryResult<R>>;
	/** A Kysely instance whose statements run in the transaction (its `transaction()` is a savepoint). */
	readonly kysely: Kysely<any>;
}

/** `stores.transaction` was called where the runtime has no AsyncLocalStorage to carry it. */
export class CallerTransactionUnsupportedError extends AuthpgError {
	constructor(cause?: unknown) {
		super(
			"CALLER_TRANSACTION_UNSUPPORTED",
			"stores.transaction needs AsyncLocalStorage to carry the transaction to Better Auth's calls, and this runtime has none (on Cloudflare Workers, enable the `nodejs_compat` flag). Without it Better Auth would silently write outside the transaction, so nothing was run.",
			{ cause },
		);
	}
}

/** `stores.transaction` was called on a driver without interactive transactions (e.g. Neon over HTTP). */
export class CallerTransactionNotSupportedByDriverError extends AuthpgError {
	constructor(driver: string) {
		super(
			"CALLER_TRANSACTION_NOT_SUPPORTED_BY_DRIVER",
			`The "${driver}" driver has no interactive transactions, so stores.transaction cannot run Better Auth's calls in one. Use a driver (or connection mode) that has them.`,
		);
	}
}

/**
 * Per underlying driver, so stores sharing a driver (the development
 * registry) share its open transactions. Kept on `globalThis` because a hot
 * reload re-runs this module while the registry hands out the same driver.
 */
interface CallerTransactionState {
	contexts: WeakMap<Driver, TransactionContext>;
	joined: WeakMap<Driver, Driver>;
	/** The driver behind each joined one, so both key the same open transactions. */
	bases: WeakMap<Driver, Driver>;
}

const STATE = Symbol.for("authpg.callerTransactions");
const holder = globalThis as Record<symbol, CallerTransactionState | undefined>;
holder[STATE] ??= { contexts: new WeakMap(), joined: new WeakMap(), bases: new WeakMap() };
const { contexts, joined, bases } = holder[STATE];

function contextOf(driver: Driver): TransactionContext {
	let context = contexts.get(driver);
	if (!context) {
		context = new TransactionContext();
		contexts.set(driver, context);
	}
	return context;
}

function currentOf(driver: Driver): Driver | undefined {
	return contexts.get(driver)?.current();
}

/**
 * `driver`, made to honour the transaction open in the current async context:
 * `query` runs in it and `transaction` opens a savepoint in it. Transactions
 * opened through the result (Better Auth's own, the application's) become the
 * current one for their callback. Where the runtime has no
 * AsyncLocalStorage, it behaves exactly as `driver`.
 */
export function joinCallerTransactions(driver: Driver): Driver {
	if (bases.has(driver)) return driver;
	const existing = joined.get(driver);
	if (existing) return existing;
	const scoped: Driver = {
		name: driver.name,
		capabilities: driver.capabilities,
		query<R>(sql: string, params: readonly unknown[], opts?: QueryOptions) {
			const tx = currentOf(driver);
			if (tx) return tx.query<R>(sql, params, opts);
			// Inside `stores.readFromPrimary`, a read loses its mark, and an unmarked statement runs on the primary.
			if (opts?.read && readsFromPrimary(driver)) return driver.query<R>(sql, params, unmarked(opts));
			return driver.query<R>(sql, params, opts);
		},
		async transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T> {
			const outer = currentOf(driver) ?? driver;
			const context = contextOf(driver);
			try {
				await context.ready();
			} catch {
				// No AsyncLocalStorage: only stores.transaction depends on it, and it says so.
				return outer.transaction(fn);
			}
			return outer.transaction((tx) => context.run(tx, () => fn(tx)));
		},
		close: () => driver.close(),
	};
	joined.set(driver, scoped);
	bases.set(scoped, driver);
	return scoped;
}

/**
 * Run `fn` in one transaction on `driver` (or a savepoint in the transaction
 * already open in this async context), with everything issued through stores
 * over `driver` during `fn` joining it.
 *
 * @throws {CallerTransactionUnsupportedError} where the runtime has no AsyncLocalStorage.
 * @throws {CallerTransactionNotSupportedByDriverError} when the driver has no interactive transactions.
 */
export async function runCallerTransaction<T>(driver: Driver, fn: (tx: CallerTransaction) => Promise<T>): Promise<T> {
	if (!driver.capabilities.transactions) throw new CallerTransactionNotSupportedByDriverError(driver.name);
	const base = unjoined(driver);
	const context = contextOf(base);
	try {
		await context.ready();
	} catch (error) {
		throw new CallerTransactionUnsupportedError(error);
	}
	const outer = currentOf(base) ?? base;
	return outer.transaction((tx) => context.run(tx, () => fn(callerTransaction(tx))));
}

/**
 * Run `fn` with every read made through stores over `driver` (Better Auth's
 * adapter included) sent to the primary.
 *
 * @throws {PrimaryReadsUnsupportedError} where the runtime has no AsyncLocalStorage.
 */
export function runReadingFromPrimary<T>(driver: Driver, fn: () => Promise<T>): Promise<T> {
	return runOnPrimary(unjoined(driver), fn);
}

/** Whether a transaction on `driver` is open in the current async context (so a statement through it joins). */
export function inCallerTransaction(driver: Driver): boolean {
	return currentOf(unjoined(driver)) !== undefined;
}

function unjoined(driver: Driver): Driver {
	return bases.get(driver) ?? driver;
}

function callerTransaction(tx: Driver): CallerTransaction {
	let kysely: Kysely<any> | undefined;
	return {
		driver: tx,
		query: (sql, params = [], opts) => tx.query(sql, params, opts),
		get kysely() {
			kysely ??= new Kysely<any>({ dialect: kyselyDialect(tx) });
			return kysely;
		},
	};
}
