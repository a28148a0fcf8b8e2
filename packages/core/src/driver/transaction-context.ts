/**
 * The transaction open in the current async context. Two users: a
 * single-session driver, whose own statements issued from inside its running
 * transaction (say, Better Auth writing its secondary storage in the middle
 * of a sign-up) must join it instead of queueing behind it forever; and
 * `stores.transaction`, which carries the application's transaction to every
 * Better Auth call made inside its callback.
 *
 * AsyncLocalStorage comes from Better Auth's own lookup, which finds it in
 * Node, Workers with `nodejs_compat` and Vercel Edge.
 */
import { type AsyncLocalStorage, getAsyncLocalStorage } from "@better-auth/core/async_hooks";
import type { Driver } from "./contract.js";

interface OpenTransaction {
	readonly tx: Driver;
	open: boolean;
}

/** Remembers, per async context, the transaction whose callback runs there. */
export class TransactionContext {
	#storage: AsyncLocalStorage<OpenTransaction> | undefined;
	#pending: Promise<AsyncLocalStorage<OpenTransaction>> | undefined;

	/** The transaction whose callback the current async context runs in, while it is open. */
	current(): Driver | undefined {
		const entry = this.#storage?.getStore();
		return entry?.open ? entry.tx : undefined;
	}

	/**
	 * Resolves once the runtime's AsyncLocalStorage is at hand; rejects where
	 * the runtime has none (and again on the next call, which looks again).
	 */
	async ready(): Promise<void> {
		if (this.#storage) return;
		this.#pending ??= getAsyncLocalStorage().then(
			(Storage) => new Storage<OpenTransaction>(),
			(error: unknown) => {
				this.#pending = undefined;
				throw error;
			},
		);
		this.#storage = await this.#pending;
	}

	/** Run `fn` with `tx` as the current transaction of its async context. */
	async run<T>(tx: Driver, fn: () => Promise<T>): Promise<T> {
		if (!this.#storage) await this.ready();
		const entry: OpenTransaction = { tx, open: true };
		try {
			return await (this.#storage as AsyncLocalStorage<OpenTransaction>).run(entry, fn);
		} finally {
			// Work the callback left running must not reach a finished transaction.
			entry.open = false;
		}
	}
}
