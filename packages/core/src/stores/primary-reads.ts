/**
 * The per-call opt-out of replica reads (`stores.readFromPrimary`). The
 * scope is carried in the async context, like the caller's transaction, so
 * every read Better Auth's adapter makes while the callback runs — however
 * deep inside `auth.api.*` — is sent to the primary. It works by dropping the
 * adapter's read mark ({@link ReadHint}) from those statements: an unmarked
 * statement always goes to the primary, whatever routing driver is below,
 * and on a driver without replicas nothing changes.
 */
import { type AsyncLocalStorage, getAsyncLocalStorage } from "@better-auth/core/async_hooks";
import type { Driver, QueryOptions } from "../driver/contract.js";
import { AuthpgError } from "../errors.js";

/** `stores.readFromPrimary` was called where the runtime has no AsyncLocalStorage to carry its scope. */
export class PrimaryReadsUnsupportedError extends AuthpgError {
	constructor(cause?: unknown) {
		super(
			"PRIMARY_READS_UNSUPPORTED",
			"stores.readFromPrimary needs AsyncLocalStorage to carry its scope to Better Auth's reads, and this runtime has none (on Cloudflare Workers, enable the `nodejs_compat` flag). Nothing was run. Instead, send a model's reads to the primary with the `replicaReads` option (e.g. `replicaReads: { session: \"primary\" }`), or run the calls in `stores.transaction(...)`, whose statements all run on the primary.",
			{ cause },
		);
	}
}

/** The drivers whose reads the current async context sends to the primary. */
type Scope = ReadonlySet<Driver>;

/**
 * Kept on `globalThis`, as the caller-transaction state is: a hot reload
 * re-runs this module while the development registry hands out the same
 * driver, and a scope opened by the old module must still be seen.
 */
interface PrimaryReadsState {
	storage: AsyncLocalStorage<Scope> | undefined;
	pending: Promise<AsyncLocalStorage<Scope>> | undefined;
}

const STATE = Symbol.for("authpg.primaryReads");
const holder = globalThis as Record<symbol, PrimaryReadsState | undefined>;
holder[STATE] ??= { storage: undefined, pending: undefined };
const state = holder[STATE];

async function storage(): Promise<AsyncLocalStorage<Scope>> {
	if (state.storage) return state.storage;
	state.pending ??= getAsyncLocalStorage().then(
		(Storage) => new Storage<Scope>(),
		(error: unknown) => {
			// The next call looks again (a runtime may gain it, e.g. a test that mocked it away).
			state.pending = undefined;
			throw error;
		},
	);
	state.storage = await state.pending;
	return state.storage;
}

/**
 * Whether a statement marked as a read should go to the primary: the current
 * async context is inside `readFromPrimary` of stores over `driver`. Cheap
 * when no scope was ever opened (no storage yet).
 */
export function readsFromPrimary(driver: Driver): boolean {
	return state.storage?.getStore()?.has(driver) === true;
}

/** `opts` without its read mark, so the statement goes to the primary. */
export function unmarked(opts: QueryOptions): QueryOptions {
	const { read: _read, ...rest } = opts;
	return rest;
}

/**
 * Run `fn` with every read made through stores over `driver` sent to the
 * primary.
 *
 * @throws {PrimaryReadsUnsupportedError} where the runtime has no AsyncLocalStorage.
 */
export async function runOnPrimary<T>(driver: Driver, fn: () => Promise<T>): Promise<T> {
	let als: AsyncLocalStorage<Scope>;
	try {
		als = await storage();
	} catch (error) {
		throw new PrimaryReadsUnsupportedError(error);
	}
	const outer = als.getStore();
	if (outer?.has(driver)) return fn();
	const scope = new Set(outer);
	scope.add(driver);
	return als.run(scope, fn);
}
