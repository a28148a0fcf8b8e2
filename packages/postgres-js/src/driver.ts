/**
 * An authpg `Driver` over a postgres.js `sql` instance: statements through
 * `sql.unsafe`, transactions through `sql.begin` (savepoints through
 * `tx.savepoint`). postgres.js pools its own connections.
 */

import {
	createGate,
	type Driver,
	type DriverCapabilities,
	driverClosedError,
	isConnectionError,
	type QueryOptions,
	type QueryResult,
} from "@authpg/core/driver";
import postgres, { type Options, type Sql, type TransactionSql } from "postgres";
import { decoderFor, encodeParameter, textOf } from "./text-format.js";

/** Options for {@link postgresJsDriver}. */
export interface PostgresJsDriverOptions {
	/**
	 * Whether `close()` ends the `sql` instance. Default `false`: an instance
	 * handed in stays the application's to end.
	 */
	ownsClient?: boolean;
	/**
	 * Run the statements the core names as prepared statements
	 * (`sql.unsafe(text, params, { prepare: true })`). Default `true`; set
	 * `false` behind a pooler in transaction mode (PgBouncer, Supavisor), where
	 * a prepared statement may land on another server session. An instance
	 * created with `prepare: false` never prepares, whatever this says.
	 */
	preparedStatements?: boolean;
}

/** Options for {@link createDriver}; the driver always owns the instance it creates. */
export type CreatePostgresJsDriverOptions = Omit<PostgresJsDriverOptions, "ownsClient">;

/**
 * postgres.js options for an instance the driver creates. `transform` and
 * `types` are left out: the driver decodes values itself (see the README).
 */
export type PostgresJsOptions = Omit<Options<Record<string, postgres.PostgresType>>, "transform" | "types">;

/** Parameters are typed `unknown` (OID 705): Postgres infers each one, and postgres.js applies no serializer. */
const UNKNOWN = 705;

/** How long `close()` lets running statements finish before it ends the connections anyway. */
const CLOSE_TIMEOUT_SECONDS = 5;

type Statements = Sql<any> | TransactionSql<any>;

/** The raw result postgres.js resolves with (one per statement when a parameterless text holds several). */
interface RawResult extends Array<(Uint8Array | null)[]> {
	count: number | null;
	command: string | null;
	columns: readonly { name: string; type: number }[] | null;
}

/**
 * A driver over `sql`. Values come back as the core expects whatever the
 * instance's `types` and value transforms say: the driver reads raw column
 * bytes and decodes them itself. Column names are another matter (postgres.js
 * renames them before anyone sees them), so for an instance with a column or
 * row transform (e.g. `postgres.camel`) the driver derives an instance of its
 * own with the same connection options and no transform; it opens its own
 * connections, and `close()` ends it.
 */
export function postgresJsDriver(sql: Sql<any>, options: PostgresJsDriverOptions = {}): Driver {
	const owns = options.ownsClient ?? false;
	const derived = rewritesRows(sql) ? deriveInstance(sql) : undefined;
	const target: Sql<any> = derived ?? sql;
	const prepare = (options.preparedStatements ?? true) && target.options.prepare !== false;
	const capabilities: DriverCapabilities = { transactions: true, preparedStatements: prepare };
	let closing: Promise<void> | undefined;

	async function run<R>(
		on: Statements,
		text: string,
		params: readonly unknown[],
		opts: QueryOptions | undefined,
	): Promise<QueryResult<R>> {
		const name = prepare ? opts?.name : undefined;
		const args = params.map((value) => target.typed(encodeParameter(value), UNKNOWN));
		// `simple` (the text protocol) is postgres.js's default without parameters; a named statement needs the extended one.
		const queryOptions = { prepare: name !== undefined, simple: params.length === 0 && name === undefined };
		// postgres.js caches prepared statements by text alone, while the core's name also covers the schema
		// the text was compiled for (one text over a uuid id and over a serial id prepares different parameter
		// types). With the name in the text as a comment, each of the core's names gets a statement of its own.
		const statement = name === undefined ? text : `/* ${name.replace(/[^\w$]/g, "_")} */ ${text}`;
		const result = (await on.unsafe(statement, args as never[], queryOptions).raw()) as unknown as
			| RawResult
			| RawResult[];
		return decode<R>(result);
	}

	function assertOpen(): void {
		if (closing) throw driverClosedError("postgres.js");
	}

	/** A driver bound to one transaction scope (the transaction or a savepoint in it). */
	function scoped(scope: TransactionSql<any>, state: TransactionState, outer: () => boolean) {
		let ended = false;
		const isEnded = () => ended || outer();
		const children = createGate();
		const driver: Driver = {
			name: "postgres-js",
			capabilities,
			async query<R = Record<string, unknown>>(text: string, params: readonly unknown[], opts?: QueryOptions) {
				// Lost first: a callback still running when its connection closed should see why.
				if (state.lost !== undefined) throw connectionLost(state.lost);
				// postgres.js would run a leaked `tx`'s statement on the connection after it went back to the pool.
				if (isEnded() || state.finished) {
					throw new Error("authpg: this transaction has already finished; statements can no longer run on its `tx`.");
				}
				try {
					return await run<R>(scope, text, params, opts);
				} catch (error) {
					if (state.lost === undefined && isConnectionError(error)) state.lose(error);
					throw error;
				}
			},
			// Siblings one after another: `ROLLBACK TO` one savepoint must not undo another's work.
			transaction: <T>(fn: (tx: Driver) => Promise<T>) =>
				children.run(async () => {
					if (state.lost !== undefined) throw connectionLost(state.lost);
					if (isEnded() || state.finished) throw new Error("authpg: this transaction has already finished.");
					const boxed = await scope.savepoint((inner) => within(inner, state, isEnded, fn));
					return (boxed as unknown as { value: T }).value;
				}),
			// The connection belongs to the driver that opened the transaction.
			close: async () => {},
		};
		return { driver, end: () => (ended = true) };
	}

	/**
	 * Run `fn` on a scope. The value is boxed: postgres.js awaits every element
	 * of a callback's array result. Once the connection is lost, the callback
	 * never settles towards postgres.js: settling makes it write `ROLLBACK` (or
	 * `COMMIT`, `RELEASE`) to the closed connection, or to the session it has
	 * since reopened for another caller. postgres.js 3.4.9 flushes that write
	 * from a `setImmediate` onto a socket it already dropped, which throws an
	 * uncaught TypeError (porsager/postgres#1208). The throw also skips the
	 * reset of its pending-flush marker, so the connection stays wedged: each
	 * reconnect queues its startup message behind the stale bytes and never
	 * flushes it, and every call on it waits for `connect_timeout`.
	 * `sql.begin` rejects on its own when the connection closes, and the
	 * transaction reports the loss (see `transaction`).
	 */
	async function within<T>(
		scope: TransactionSql<any>,
		state: TransactionState,
		outer: () => boolean,
		fn: (tx: Driver) => Promise<T>,
	): Promise<{ value: T }> {
		const { driver, end } = scoped(scope, state, outer);
		let outcome: { value: T } | { error: unknown };
		try {
			outcome = { value: await fn(driver) };
		} catch (error) {
			outcome = { error };
		} finally {
			end();
		}
		// Whether `fn` failed or swallowed the failure: postgres.js remembers the failed statement either way.
		if (state.lost !== undefined) return new Promise<never>(() => {});
		if ("error" in outcome) throw outcome.error;
		return outcome;
	}

	return {
		name: "postgres-js",
		capabilities,
		async query<R = Record<string, unknown>>(
			text: string,
			params: readonly unknown[],
			opts?: QueryOptions,
		): Promise<QueryResult<R>> {
			assertOpen();
			return run<R>(target, text, params, opts);
		},
		async transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T> {
			assertOpen();
			const state = transactionState();
			const began = target
				.begin((scope) => within(scope, state, () => false, fn))
				.catch((error: unknown) => {
					// The connection closed while no statement of the transaction ran (killed while idle in
					// transaction): only `sql.begin` hears of it, and `fn` may still be running. Marking the loss
					// keeps its callback from settling, so postgres.js writes nothing to the closed connection.
					if (state.lost === undefined && isConnectionError(error)) state.lose(error);
					throw error;
				});
			try {
				const boxed = await Promise.race([began, state.lossReported]);
				return (boxed as unknown as { value: T }).value;
			} finally {
				// Also when postgres.js gave up on a closed connection while `fn` still runs: its `tx` must stop here.
				state.finished = true;
			}
		},
		close(): Promise<void> {
			// Bounded: postgres.js 3.4.9's `end()` never resolves once a connection died in the middle of a statement.
			const end = (instance: Sql<any>) => instance.end({ timeout: CLOSE_TIMEOUT_SECONDS });
			closing ??= Promise.all([derived && end(derived), owns && end(sql)]).then(() => {});
			return closing;
		},
	};
}

/**
 * A driver that owns a new postgres.js instance for `config` (a connection
 * string, or postgres.js options). Nothing connects until the first statement.
 */
export function createDriver(
	config: string | (PostgresJsOptions & { connectionString?: string }),
	options: CreatePostgresJsDriverOptions = {},
): Driver {
	const { connectionString, ...rest } = typeof config === "string" ? { connectionString: config } : config;
	const settings = ownOptions(rest);
	// postgres.js prepares its own `commit`, `savepoint` and `rollback` unless the whole instance is told not to.
	if (options.preparedStatements === false) settings.prepare = false;
	const sql = connectionString === undefined ? postgres(settings) : postgres(connectionString, settings);
	return postgresJsDriver(sql, { ...options, ownsClient: true });
}

/** Options for an instance of the driver's own: no transform or custom types, and nothing it does not use. */
function ownOptions(options: PostgresJsOptions): Options<Record<string, postgres.PostgresType>> {
	const { transform: _transform, types: _types, ...rest } = options as Options<Record<string, postgres.PostgresType>>;
	return {
		...rest,
		// postgres.js logs every NOTICE (e.g. "schema … does not exist, skipping") unless told otherwise.
		onnotice: rest.onnotice ?? (() => {}),
		// The array types it fetches on connect are for its own parsers, which the driver does not use.
		fetch_types: false,
	};
}

/** Whether `sql` renames columns or rewrites rows, which raw results cannot undo. */
function rewritesRows(sql: Sql<any>): boolean {
	const transform = sql.options.transform;
	return transform?.column?.from !== undefined || transform?.row?.from !== undefined;
}

/** A new instance with `sql`'s connection options and none of its transforms, types or callbacks. */
function deriveInstance(sql: Sql<any>): Sql<any> {
	const parsed = sql.options as unknown as Record<string, unknown>;
	const copy: Record<string, unknown> = { ...parsed };
	// postgres.js takes an object holding `shared` as already parsed and would share its state; these are re-made.
	for (const key of ["shared", "parsers", "serializers", "parameters", "onclose", "onparameter", "onnotify"]) {
		delete copy[key];
	}
	return postgres(ownOptions(copy as PostgresJsOptions));
}

/** One transaction's shared state: its savepoints see the loss of the connection too. */
interface TransactionState {
	/** The error that lost the connection, once one did. */
	lost: unknown;
	/** Set when `sql.begin` has settled. */
	finished: boolean;
	/** Rejects with the connection's error when it is lost. */
	lossReported: Promise<never>;
	lose(error: unknown): void;
}

function transactionState(): TransactionState {
	let report!: (error: unknown) => void;
	const lossReported = new Promise<never>((_, reject) => {
		report = reject;
	});
	// Observed through Promise.race in `transaction`; this keeps an unraced rejection from being reported as unhandled.
	lossReported.catch(() => {});
	const state: TransactionState = {
		lost: undefined,
		finished: false,
		lossReported,
		lose(error) {
			state.lost = error;
			report(error);
		},
	};
	return state;
}

function connectionLost(cause: unknown): Error {
	return new Error("authpg: the transaction's connection was lost; none of its changes were committed.", { cause });
}

function decode<R>(result: RawResult | RawResult[]): QueryResult<R> {
	// A parameterless text with several statements yields one result each; the last one is the answer.
	const last = "command" in result ? result : result[result.length - 1];
	if (!last) return { rows: [], rowCount: 0 };
	const columns = last.columns ?? [];
	const names = columns.map((column) => column.name);
	const decoders = columns.map((column) => decoderFor(column.type));
	const rows: R[] = [];
	for (let r = 0; r < last.length; r++) {
		const raw = last[r];
		// postgres.js 3.4.9 does not reset its row index when a connection dies mid-result, so the first
		// result on the reconnected connection starts with holes (porsager/postgres#1215); they hold nothing.
		if (raw === undefined) continue;
		const row: Record<string, unknown> = {};
		for (let i = 0; i < names.length; i++) {
			const value = raw[i];
			row[names[i]] = value === null ? null : decoders[i](textOf(value));
		}
		rows.push(row as R);
	}
	return { rows, rowCount: last.count ?? 0 };
}
