/**
 * `replicatedDriver`: one `Driver` over a primary and read replicas. The
 * adapter marks the statements of `findOne`, `findMany` and `count` with a
 * {@link ReadHint}; those go to a healthy replica (round robin), everything
 * else — writes, transactions, the caller's transaction, the stores,
 * migrations, unmarked statements — to the primary. The adapter does not
 * know replicas exist.
 *
 * Health is measured here, not by Postgres: each replica's replay lag is
 * probed on an interval, and a replica over the bound, or failing, is left
 * out until a probe finds it well again. No request fails because a replica
 * did: a replica's error sends the statement to the primary.
 */
import { isConnectionError } from "./connection-loss.js";
import type { Driver, QueryOptions, QueryResult, ReadHint } from "./contract.js";

/** Where reads of one model go. */
export type ReadRoute = "replica" | "primary";

/** Options of {@link replicatedDriver}. */
export interface ReplicatedDriverOptions {
	/** Every write, every transaction and every unmarked statement runs here. */
	primary: Driver;
	/** Read replicas of `primary` (streaming replication, or a managed provider's read replicas). */
	replicas: readonly Driver[];
	/**
	 * Most replay lag, in milliseconds, a replica may have and still serve
	 * reads. Default 5000: streaming replication normally trails by well
	 * under a second, so only a replica in trouble (a long conflicting query,
	 * a saturated link, replay paused) crosses it; and it bounds how long a
	 * revoked session can still be found on a replica (this bound plus one
	 * `healthInterval`), which should stay short next to Better Auth's session
	 * lifetimes and cookie cache.
	 */
	maxReplicaLag?: number;
	/** How often each replica's lag is probed, in milliseconds. Default 1000. */
	healthInterval?: number;
	/**
	 * Per-model routing of reads, by Better Auth model key: e.g.
	 * `{ session: "primary" }` reads sessions from the primary only (a
	 * revocation is then seen at once). Models not named read from replicas.
	 */
	models?: Readonly<Record<string, ReadRoute>>;
}

/** One replica as the last probe found it. */
export interface ReplicaHealth {
	/** Its index in `replicas`. */
	readonly index: number;
	/** Whether reads go to it. */
	readonly healthy: boolean;
	/** Replay lag in milliseconds at the last probe; `undefined` before the first or after a failure. */
	readonly lagMs: number | undefined;
	/** Why it is left out, when it is. */
	readonly reason: string | undefined;
}

/** A {@link Driver} that routes reads to replicas; see {@link replicatedDriver}. */
export interface ReplicatedDriver extends Driver {
	readonly primary: Driver;
	readonly replicas: readonly Driver[];
	/** Each replica's health as last probed. */
	health(): readonly ReplicaHealth[];
	/** Probe every replica now (and start the interval probes if reads have not yet). */
	checkHealth(): Promise<readonly ReplicaHealth[]>;
}

const DEFAULT_MAX_LAG_MS = 5000;
const DEFAULT_INTERVAL_MS = 1000;

/**
 * The probe. Lag is `now() - pg_last_xact_replay_timestamp()` unless the
 * replica has replayed past the primary's WAL flush position read just
 * before, in which case it is 0. The timestamp alone goes stale on an idle
 * primary (nothing to replay, so the last replayed commit only grows older,
 * and an idle system would look ever more behind); the LSN alone is bytes,
 * not time, and cannot be compared with a bound in seconds. Together: caught
 * up means no lag, and behind means behind by the age of the last replayed
 * commit, which over-estimates (never under-estimates) real lag. A server
 * not in recovery (a promoted replica, or the primary named again) has none.
 */
const REPLICA_PROBE = `select pg_is_in_recovery() as recovery,
  coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) as caught_up,
  extract(epoch from (clock_timestamp() - pg_last_xact_replay_timestamp())) * 1000 as behind_ms`;
// The flush position, not the insert position: on an idle primary the insert position can sit past
// a page header that no record ends at, so a fully caught-up replica would never reach it. What is
// inserted but not flushed yet (an asynchronous commit, for at most wal_writer_delay) is not on any
// replica either; a findOne of it still finds it on the primary.
const PRIMARY_POSITION = "select pg_current_wal_flush_lsn()::text as lsn";

interface ProbeRow {
	recovery: boolean;
	caught_up: boolean;
	/** `numeric`: a string from most drivers. */
	behind_ms: number | string | null;
}

/** Replay lag in ms from a probe's answer (see {@link REPLICA_PROBE}); never replayed and behind is infinitely behind. */
function lagOf(row: ProbeRow | undefined): number {
	if (row === undefined || !row.recovery || row.caught_up) return 0;
	return row.behind_ms === null ? Number.POSITIVE_INFINITY : Number(row.behind_ms);
}

interface ReplicaState {
	readonly index: number;
	readonly driver: Driver;
	healthy: boolean;
	lagMs: number | undefined;
	reason: string | undefined;
	probing: Promise<void> | undefined;
}

/**
 * A driver over `primary` whose marked reads go to `replicas` while they are
 * healthy.
 *
 * - A read outside any transaction goes to the next healthy replica (round
 *   robin); with none healthy, to the primary. Transactions run on the
 *   primary, and so does every statement inside them (the `tx` driver is the
 *   primary's).
 * - Read-your-writes: a `findOne` that finds nothing on a replica is asked
 *   again of the primary, so a session created by one request is found by
 *   the next. Reads that find a row may be stale by at most `maxReplicaLag`
 *   plus `healthInterval`: a revoked session can stay valid on a replica that
 *   long.
 * - A replica read that fails is run on the primary; a replica that lost its
 *   connection is left out until it answers a probe again.
 * - Probing starts with the first read (nothing connects before), on an
 *   unref'd timer; until the first probe reports, reads go to the primary.
 *
 * `close()` closes the primary and every replica driver.
 */
export function replicatedDriver(options: ReplicatedDriverOptions): ReplicatedDriver {
	const { primary } = options;
	const maxLag = options.maxReplicaLag ?? DEFAULT_MAX_LAG_MS;
	const interval = options.healthInterval ?? DEFAULT_INTERVAL_MS;
	const models = options.models ?? {};
	const states: ReplicaState[] = options.replicas.map((driver, index) => ({
		index,
		driver,
		healthy: false,
		lagMs: undefined,
		reason: "not probed yet",
		probing: undefined,
	}));
	// The healthy replicas, rebuilt only when health changes, so a read allocates nothing to pick one.
	let healthy: ReplicaState[] = [];
	let next = 0;
	let timer: ReturnType<typeof setInterval> | undefined;
	let closing: Promise<void> | undefined;

	function setHealth(state: ReplicaState, ok: boolean, lagMs: number | undefined, reason: string | undefined) {
		state.lagMs = lagMs;
		state.reason = reason;
		if (state.healthy === ok) return;
		state.healthy = ok;
		healthy = states.filter((s) => s.healthy);
	}

	async function primaryPosition(): Promise<string | null> {
		try {
			const { rows } = await primary.query<{ lsn: string }>(PRIMARY_POSITION, []);
			return rows[0]?.lsn ?? null;
		} catch {
			// Without the primary's position, lag falls back to the replay timestamp (an over-estimate).
			return null;
		}
	}

	function probe(state: ReplicaState, position: string | null): Promise<void> {
		state.probing ??= (async () => {
			let timeout: ReturnType<typeof setTimeout> | undefined;
			try {
				const answer = state.driver.query<ProbeRow>(REPLICA_PROBE, [position]);
				// A replica that stops answering (a partition, not a refusal) must not stay in rotation.
				const expired = new Promise<never>((_, reject) => {
					timeout = setTimeout(
						() => reject(new Error(`no answer within ${Math.max(interval, maxLag)} ms`)),
						Math.max(interval, maxLag),
					);
				});
				const { rows } = await Promise.race([answer, expired]);
				const lag = lagOf(rows[0]);
				if (lag <= maxLag) setHealth(state, true, lag, undefined);
				else setHealth(state, false, lag, `replay lag ${Math.round(lag)} ms is over ${maxLag} ms`);
			} catch (error) {
				setHealth(state, false, undefined, `probe failed: ${error instanceof Error ? error.message : String(error)}`);
			} finally {
				clearTimeout(timeout);
				state.probing = undefined;
			}
		})();
		return state.probing;
	}

	async function probeAll(): Promise<void> {
		if (closing) return;
		const position = await primaryPosition();
		await Promise.all(states.map((state) => probe(state, position)));
	}

	function startProbing(): void {
		if (timer !== undefined || closing || states.length === 0) return;
		timer = setInterval(() => void probeAll(), interval);
		// Probes must not keep a process alive that has nothing else to do.
		(timer as { unref?: () => void }).unref?.();
		void probeAll();
	}

	const report = (): readonly ReplicaHealth[] =>
		states.map(({ index, healthy: ok, lagMs, reason }) => ({ index, healthy: ok, lagMs, reason }));

	function onPrimary<R>(sql: string, params: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
		return primary.query<R>(sql, params, opts);
	}

	function readOnReplica<R>(
		state: ReplicaState,
		read: ReadHint,
		sql: string,
		params: readonly unknown[],
		opts: QueryOptions,
	): Promise<QueryResult<R>> {
		return state.driver.query<R>(sql, params, opts).then(
			(result) => (read.single && result.rows.length === 0 ? onPrimary<R>(sql, params, opts) : result),
			(error: unknown) => {
				// A lost connection takes the replica out of rotation until a probe finds it again; any other
				// error (a recovery conflict cancelling the statement, a replica without the table yet) may be
				// the replica's alone, so the primary answers, and its error, if any, is the caller's.
				if (isConnectionError(error)) setHealth(state, false, undefined, "connection lost");
				return onPrimary<R>(sql, params, opts);
			},
		);
	}

	return {
		name: primary.name,
		capabilities: primary.capabilities,
		primary,
		replicas: options.replicas,
		query<R = Record<string, unknown>>(
			sql: string,
			params: readonly unknown[],
			opts?: QueryOptions,
		): Promise<QueryResult<R>> {
			const read = opts?.read;
			if (read === undefined || closing || models[read.model] === "primary") return onPrimary<R>(sql, params, opts);
			if (timer === undefined) startProbing();
			const count = healthy.length;
			if (count === 0) return onPrimary<R>(sql, params, opts);
			next = (next + 1) % count;
			return readOnReplica<R>(healthy[next] as ReplicaState, read, sql, params, opts as QueryOptions);
		},
		transaction: (fn) => primary.transaction(fn),
		health: report,
		async checkHealth() {
			startProbing();
			await probeAll();
			return report();
		},
		close() {
			closing ??= (async () => {
				clearInterval(timer);
				await Promise.all([primary.close(), ...options.replicas.map((replica) => replica.close())]);
			})();
			return closing;
		},
	};
}

/** The replica options every driver package's `createStores`/`fromClient` accepts next to its `replicas`. */
export interface ReplicaOptions {
	/** See {@link ReplicatedDriverOptions.maxReplicaLag}. Default 5000 ms. */
	maxReplicaLag?: number;
	/** See {@link ReplicatedDriverOptions.healthInterval}. Default 1000 ms. */
	replicaHealthInterval?: number;
	/** Per-model routing of reads, e.g. `{ session: "primary" }`; see {@link ReplicatedDriverOptions.models}. */
	replicaReads?: Readonly<Record<string, ReadRoute>>;
}

/**
 * A driver package's options split into the {@link ReplicaOptions} (for
 * {@link withReplicas}) and everything else (for the stores), so that no
 * package spells the replica options out again.
 */
export function splitReplicaOptions<T extends ReplicaOptions>(
	options: T,
): [ReplicaOptions, Omit<T, keyof ReplicaOptions>] {
	const { maxReplicaLag, replicaHealthInterval, replicaReads, ...rest } = options;
	return [{ maxReplicaLag, replicaHealthInterval, replicaReads }, rest];
}

/**
 * `primary` alone when there are no replicas, else a {@link replicatedDriver}
 * over it: what a driver package's `createStores` calls, so each stays thin.
 */
export function withReplicas(primary: Driver, replicas: readonly Driver[], options: ReplicaOptions = {}): Driver {
	if (replicas.length === 0) return primary;
	return replicatedDriver({
		primary,
		replicas,
		maxReplicaLag: options.maxReplicaLag,
		healthInterval: options.replicaHealthInterval,
		models: options.replicaReads,
	});
}
