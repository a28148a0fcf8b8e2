/**
 * An authpg `Driver` over a postgres.js `sql` instance, 3.4.x or 4.x:
 * named statements as tagged templates, others through `sql.unsafe` (see
 * `send.ts`), transactions through `sql.begin`
 * (savepoints through `tx.savepoint`). postgres.js pools its own connections.
 * What differs between the two majors is decided once per instance, from the
 * instance (see `postgresJsMajor`); the workarounds for 3.x apply to 3.x only.
 */

import {
	createGate,
	type Driver,
	type DriverCapabilities,
	driverClosedError,
	isConnectionError,
	type QueryOptions,
	type QueryResult,
	TransactionRolledBackError,
} from "@authpg/core/driver";
import postgres, { type Options, type Sql, type TransactionSql } from "postgres";
import { type PostgresJsMajor, postgresJsMajor } from "./major.js";
import {
	EXTENDED,
	PREPARED,
	parsedSender,
	type Send,
	SIMPLE,
	type Statement,
	type Statements,
	sendRaw,
	templateOf,
} from "./send.js";
import { encodeParameter } from "./text-format.js";

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

/** How long `close()` lets running statements finish on postgres.js 3.x before it ends the connections anyway. */
const CLOSE_TIMEOUT_SECONDS = 5;

/**
 * A driver over `sql`. Values come back as the core expects whatever the
 * instance's `types` and value transforms say: the driver decodes columns
 * itself. Column names are another matter: postgres.js 4 reads the driver's
 * results without the instance's transform (`.transform(false)`), while 3.x
 * renames columns before anyone sees them, so on 3.x an instance with a
 * column or row transform (e.g. `postgres.camel`) gets an instance of the
 * driver's own with the same connection options and no transform; it opens
 * its own connections, and `close()` ends it.
 */
export function postgresJsDriver(sql: Sql<any>, options: PostgresJsDriverOptions = {}): Driver {
	const owns = options.ownsClient ?? false;
	const major = postgresJsMajor(sql);
	const derived = major === 3 && rewritesRows(sql) ? deriveInstance(sql) : undefined;
	const target: Sql<any> = derived ?? sql;
	const prepare = (options.preparedStatements ?? true) && target.options.prepare !== false;
	const capabilities: DriverCapabilities = { transactions: true, preparedStatements: prepare };
	const send: Send = major === 3 ? sendRaw : parsedSender(target);
	const named = namedStatements();
	let closing: Promise<void> | undefined;

	function run<R>(
		on: Statements,
		text: string,
		params: readonly unknown[],
		opts: QueryOptions | undefined,
	): Promise<QueryResult<R>> {
		const name = prepare ? opts?.name : undefined;
		const args = new Array<unknown>(params.length);
		for (let i = 0; i < params.length; i++) args[i] = target.typed(encodeParameter(params[i]) as never, UNKNOWN);
		const statement =
			name !== undefined ? named(name, text, args.length) : { text, options: params.length === 0 ? SIMPLE : EXTENDED };
		return send(on, statement, args) as Promise<QueryResult<R>>;
	}

	function assertOpen(): void {
		if (closing) throw driverClosedError("postgres.js");
	}

	/** A driver bound to one transaction scope (the transaction or a savepoint in it). */
	function scoped(scope: TransactionSql<any>, state: TransactionState, outer: () => boolean) {
		let ended = false;
		const isEnded = () => ended || outer();
		const children = createGate();
		// 3.x only: the scope's statements still running, for `within` (see there).
		const running = major === 3 ? new Set<Promise<unknown>>() : undefined;
		async function query<R>(text: string, params: readonly unknown[], opts?: QueryOptions) {
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
		}
		const driver: Driver = {
			name: "postgres-js",
			capabilities,
			query<R = Record<string, unknown>>(text: string, params: readonly unknown[], opts?: QueryOptions) {
				const pending = query<R>(text, params, opts);
				if (running) {
					running.add(pending);
					const done = () => running.delete(pending);
					pending.then(done, done);
				}
				return pending;
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
		return { driver, running, end: () => (ended = true) };
	}

	/**
	 * Run `fn` on a scope. The value is boxed: postgres.js awaits every element
	 * of a callback's array result.
	 *
	 * On 3.x, two more things. Once the connection is lost, the callback never
	 * settles towards postgres.js: settling makes it write `ROLLBACK` (or
	 * `COMMIT`) to the closed connection, or to the session it has since
	 * reopened for another caller. 3.4.9 flushes that write from a
	 * `setImmediate` onto a socket it already dropped, which throws an uncaught
	 * TypeError (porsager/postgres#1208), and the throw also skips the reset of
	 * its pending-flush marker, so the connection stays wedged: each reconnect
	 * queues its startup message behind the stale bytes and never flushes it.
	 * `sql.begin` rejects on its own when the connection closes, and the
	 * transaction reports the loss (see `transaction`). And 3.x sends `COMMIT`
	 * as soon as the callback resolves and ignores its answer, so a statement
	 * the callback did not wait for, failing after it, leaves a transaction
	 * that 3.x reports as committed while Postgres rolled it back: the
	 * transaction waits for such statements and, if one fails, rejects with
	 * `TransactionRolledBackError`, as postgres.js 4 does by itself.
	 */
	async function within<T>(
		scope: TransactionSql<any>,
		state: TransactionState,
		outer: () => boolean,
		fn: (tx: Driver) => Promise<T>,
	): Promise<{ value: T }> {
		const { driver, running, end } = scoped(scope, state, outer);
		let outcome: { value: T } | { error: unknown };
		try {
			outcome = { value: await fn(driver) };
		} catch (error) {
			outcome = { error };
		} finally {
			end();
		}
		if (running?.size) {
			for (const statement of running) state.late.push(statement);
		}
		if (major === 3) {
			// Whether `fn` failed or swallowed the failure: postgres.js remembers the failed statement either way.
			if (state.lost !== undefined) return new Promise<never>(() => {});
			// The transaction's own scope waits for every late statement, its savepoints' included.
			if (outer === notEnded && "value" in outcome && state.late.length) {
				const settled = await Promise.allSettled(state.late);
				if (state.lost !== undefined) return new Promise<never>(() => {});
				if (settled.some((s) => s.status === "rejected")) throw new TransactionRolledBackError();
			}
		}
		if ("error" in outcome) throw outcome.error;
		return outcome;
	}

	return {
		name: "postgres-js",
		capabilities,
		// Not `async`: an async function returning a promise costs two more ticks on every statement.
		query<R = Record<string, unknown>>(
			text: string,
			params: readonly unknown[],
			opts?: QueryOptions,
		): Promise<QueryResult<R>> {
			try {
				assertOpen();
				return run<R>(target, text, params, opts);
			} catch (error) {
				return Promise.reject(error);
			}
		},
		async transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T> {
			assertOpen();
			const state = transactionState();
			const began = target
				.begin((scope) => within(scope, state, notEnded, fn))
				.catch((error: unknown) => {
					// The connection closed while no statement of the transaction ran (killed while idle in
					// transaction): only `sql.begin` hears of it, and `fn` may still be running. Marking the loss
					// stops its `tx` (and, on 3.x, keeps its callback from settling towards postgres.js).
					if (state.lost === undefined && isConnectionError(error)) state.lose(error);
					// postgres.js 4: Postgres answered COMMIT with ROLLBACK (a statement failed after the callback resolved).
					if ((error as { code?: unknown } | null)?.code === "TRANSACTION_ROLLED_BACK") {
						throw new TransactionRolledBackError();
					}
					throw error;
				});
			try {
				// postgres.js 4 rejects `sql.begin` as soon as the connection is lost; 3.x needs the driver's own report.
				const boxed = await (major === 3 ? Promise.race([began, state.lossReported]) : began);
				return (boxed as unknown as { value: T }).value;
			} finally {
				// Also when postgres.js gave up on a closed connection while `fn` still runs: its `tx` must stop here.
				state.finished = true;
			}
		},
		close(): Promise<void> {
			closing ??= Promise.all([derived && end(derived, major), owns && end(sql, major)]).then(() => {});
			return closing;
		},
	};
}

/** The outermost scope's "has an enclosing scope ended" (none has). */
const notEnded = () => false;

/**
 * End `instance`. On 3.x bounded: 3.4.9's `end()` never resolves once a
 * connection died in the middle of a statement.
 */
function end(instance: Sql<any>, major: PostgresJsMajor): Promise<void> {
	return major === 3 ? instance.end({ timeout: CLOSE_TIMEOUT_SECONDS }) : instance.end();
}

/**
 * The statement postgres.js gets for one the core named. postgres.js caches
 * prepared statements by text alone, while the core's name also covers the
 * schema the text was compiled for (one text over a uuid id and over a serial
 * id prepares different parameter types). With the name in the text as a
 * comment, each of the core's names gets a statement of its own. Sent as a
 * tagged template where the text's placeholders allow (see `templateOf`),
 * else through `sql.unsafe`. Built once per name: the core's names are few
 * and stable, and a statement is called far more often than it is compiled.
 */
function namedStatements(): (name: string, text: string, count: number) => Statement {
	const known = new Map<string, { text: string; template: TemplateStringsArray | undefined; unsafe: Statement }>();
	return (name, text, count) => {
		let entry = known.get(name);
		// A name is a hash of its text, so this holds unless a caller reuses a name for another text.
		if (entry === undefined || entry.text !== text) {
			const named = `/* ${name.replace(/[^\w$]/g, "_")} */ ${text}`;
			entry = { text, template: templateOf(named), unsafe: { text: named, options: PREPARED } };
			known.set(name, entry);
		}
		// A template takes exactly as many values as it has placeholders; Postgres reports any other count.
		return entry.template?.length === count + 1 ? entry.template : entry.unsafe;
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

/** Whether `sql` renames columns or rewrites rows, which 3.x's raw results cannot undo. */
function rewritesRows(sql: Sql<any>): boolean {
	const transform = sql.options.transform;
	return transform?.column?.from !== undefined || transform?.row?.from !== undefined;
}

/** A new instance with `sql`'s connection options and none of its transforms, types or callbacks (3.x). */
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
	/** 3.x: statements still running when their scope's callback returned. */
	late: Promise<unknown>[];
	lose(error: unknown): void;
}

function transactionState(): TransactionState {
	let report!: (error: unknown) => void;
	const lossReported = new Promise<never>((_, reject) => {
		report = reject;
	});
	// Observed through Promise.race in `transaction` (3.x); this keeps an unraced rejection from being reported as unhandled.
	lossReported.catch(() => {});
	const state: TransactionState = {
		lost: undefined,
		finished: false,
		lossReported,
		late: [],
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
