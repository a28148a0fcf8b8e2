/**
 * Does a driver's connection reach Postgres through a pooler in transaction
 * (or statement) mode, PgBouncer's or Supavisor's? There a client connection
 * is handed a server session per transaction, so a statement prepared on one
 * session is missing on the next.
 *
 * How: through the driver itself (so whatever pool, pooler or proxy the app's
 * own driver goes through is what gets checked, and no connection string is
 * needed), on one client connection taken with `driver.transaction`:
 *
 * 1. `COMMIT` the driver's `BEGIN`: that connection now runs statements
 *    outside any transaction, which a transaction-mode pooler may route to
 *    any server session; then `select pg_backend_pid()` → P1.
 * 2. A second transaction (another client connection of the driver) runs
 *    `select pg_backend_pid()` and stays open, pinning whatever server
 *    session it got.
 * 3. The first connection asks `pg_backend_pid()` again → P2.
 *
 * Straight to Postgres (or through a session-mode pooler) a client connection
 * keeps its server process for life: P2 = P1, and the second transaction runs
 * on another process. Through a transaction-mode pooler, the second
 * transaction usually lands on P1 itself (PgBouncer hands out the most
 * recently used server first), and P2 must differ from P1 while that
 * transaction holds it (or wait for it, when the pooler has one server
 * connection). Any of the three is proof. The pid alone is not:
 * `pg_backend_pid()` on two pooled client connections differs either way, and
 * PgBouncer's `SHOW` commands answer only on its admin console, not on the
 * connection the app uses.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Driver } from "@authpg/core";

/** What {@link probeTransactionPooler} found. */
export type PoolerProbe =
	| { readonly pooled: true; readonly evidence: string }
	| { readonly pooled: false; readonly evidence: string }
	/** The check could not decide; `reason` says why. */
	| { readonly pooled: undefined; readonly reason: string };

const PID = 'select pg_backend_pid() as "pid"';
const TIMEOUT = Symbol("timeout");

async function pid(driver: Driver): Promise<number> {
	const { rows } = await driver.query<{ pid: number | string }>(PID, []);
	return Number(rows[0]?.pid);
}

/** `promise`, or {@link TIMEOUT} after `ms` (the promise keeps running; its rejection is observed). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
	promise.catch(() => {});
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<typeof TIMEOUT>((resolve) => {
		timer = setTimeout(() => resolve(TIMEOUT), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Check whether `driver` goes through a transaction-mode pooler (see the
 * module comment). Read-only; needs `capabilities.transactions` and two
 * client connections at once (a pool of one cannot be checked: `pooled`
 * is then `undefined`). Waits at most about `timeoutMs` twice.
 */
export async function probeTransactionPooler(driver: Driver, timeoutMs = 3_000): Promise<PoolerProbe> {
	if (!driver.capabilities.transactions) {
		return {
			pooled: undefined,
			reason: `the ${driver.name} driver has no interactive transactions to pin a connection with`,
		};
	}
	let release!: () => void;
	const released = new Promise<void>((resolve) => {
		release = resolve;
	});
	let holder: Promise<unknown> | undefined;
	// The stores' drivers join a transaction already running in the async context (a savepoint, not a new
	// connection), so the second transaction must start in the context from before the first.
	const outside = AsyncLocalStorage.snapshot();
	try {
		return await driver.transaction(async (tx): Promise<PoolerProbe> => {
			await tx.query("commit", []);
			try {
				const first = await pid(tx);
				const held = new Promise<number>((resolve, reject) => {
					holder = outside(() =>
						driver.transaction(async (other) => {
							resolve(await pid(other));
							await released;
						}),
					).catch(reject);
				});
				const other = await within(held, timeoutMs);
				if (other === TIMEOUT) {
					return {
						pooled: undefined,
						reason: `a second connection did not open within ${timeoutMs} ms (a pool of one connection cannot be checked)`,
					};
				}
				if (other === first) {
					return {
						pooled: true,
						evidence: `two client connections ran on the same server process ${first}`,
					};
				}
				const second = await within(pid(tx), timeoutMs);
				if (second === TIMEOUT) {
					return {
						pooled: true,
						evidence: "a statement outside a transaction waited for another connection's transaction to end",
					};
				}
				if (second !== first) {
					return {
						pooled: true,
						evidence: `one client connection ran consecutive statements on server processes ${first} and ${second}`,
					};
				}
				return {
					pooled: false,
					evidence: `one client connection kept server process ${first} while another held a transaction open`,
				};
			} finally {
				release();
				// Reopen a transaction, so the driver's COMMIT ends one (as it expects) rather than warning.
				await tx.query("begin", []);
			}
		});
	} catch (error) {
		return { pooled: undefined, reason: `the check failed: ${(error as Error)?.message ?? String(error)}` };
	} finally {
		release();
		// Only now: with a pool of one, the holder gets its connection once the transaction above has ended.
		await holder?.catch(() => {});
	}
}
