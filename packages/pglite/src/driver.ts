/**
 * An authpg `Driver` over PGlite (Postgres compiled to WASM, in this process).
 *
 * PGlite is one Postgres session. Statements go through one FIFO gate; a
 * transaction holds it (and PGlite's own transaction lock, so other users of
 * the same PGlite instance wait too) until it commits or rolls back. A
 * statement sent through this driver from inside the transaction's callback
 * joins the transaction instead of waiting for it forever.
 */

import {
	type Driver,
	type DriverCapabilities,
	formatPgTimestamptz,
	parsePgTimestamp,
	runTransaction,
	type StatementResult,
	singleSessionDriver,
	TransactionRolledBackError,
} from "@authpg/core/driver";
import {
	type ParserOptions,
	PGlite,
	type PGliteInterface,
	type PGliteOptions,
	type Results,
	type SerializerOptions,
	type Transaction,
	types,
} from "@electric-sql/pglite";

/** Options for {@link pgliteDriver}. */
export interface PgliteDriverOptions {
	/**
	 * Whether `close()` closes the PGlite instance. Default `false`: an instance
	 * handed in stays the application's to close.
	 */
	ownsClient?: boolean;
}

/** Where {@link createDriver} keeps its database, and how PGlite is set up. */
export interface CreatePgliteDriverOptions {
	/**
	 * PGlite's data directory (`"./.pglite"`). Omitted or `"memory://"`: an
	 * in-memory database that ends with the driver.
	 */
	dataDir?: string;
	/** Further PGlite options (extensions, username, database, …). */
	pglite?: Omit<PGliteOptions, "dataDir">;
}

/** The one kind of statement runner this driver has: PGlite itself or a PGlite transaction. */
type Runner = Pick<Transaction, "query" | "exec">;

const capabilities: DriverCapabilities = { transactions: true, preparedStatements: false };

/**
 * Parsers for the types the `Driver` contract fixes, passed with every
 * statement so an application's own PGlite `parsers` cannot change what the
 * core receives. Values come out as node-postgres hands them over: int8 as a
 * string (PGlite's default gives a number or a bigint depending on the
 * value's size), and timestamps parsed exactly (PGlite's `new Date(text)`
 * reads year 0001 as 2001 and fails on BC years).
 */
const CONTRACT_PARSERS: ParserOptions = (() => {
	const identity = (x: string) => x;
	const element: Record<number, (x: string) => unknown> = {
		[types.BOOL]: types.parsers[types.BOOL]!,
		[types.INT2]: types.parsers[types.INT2]!,
		[types.INT4]: types.parsers[types.INT4]!,
		[types.INT8]: identity,
		[types.NUMERIC]: identity,
		[types.TEXT]: identity,
		[types.TIMESTAMPTZ]: (x) => parsePgTimestamp(x),
		// Without a zone, local time, as node-postgres reads them.
		[types.TIMESTAMP]: (x) => parsePgTimestamp(x, true),
		[types.DATE]: (x) => parsePgTimestamp(x, true),
		[types.JSON]: types.parsers[types.JSON]!,
		[types.JSONB]: types.parsers[types.JSONB]!,
	};
	// Array type oids of the element types above (pg_type.typarray).
	const arrays: Record<number, number> = {
		1000: types.BOOL,
		1005: types.INT2,
		1007: types.INT4,
		1016: types.INT8,
		1231: types.NUMERIC,
		1009: types.TEXT,
		1185: types.TIMESTAMPTZ,
		1115: types.TIMESTAMP,
		1182: types.DATE,
		199: types.JSON,
		3807: types.JSONB,
	};
	const parsers: ParserOptions = { ...element };
	for (const [arrayOid, elementOid] of Object.entries(arrays)) {
		const parseElement = element[elementOid]!;
		parsers[Number(arrayOid)] = (x: string) => types.arrayParser(x, parseElement, Number(arrayOid));
	}
	return parsers;
})();

/**
 * `timestamptz` parameters as node-postgres writes them: PGlite's
 * `toISOString()` gives `+010000-…` for years past 9999 and `-004713-…` for
 * BC years, which Postgres rejects.
 */
const CONTRACT_SERIALIZERS: SerializerOptions = (() => {
	const timestamptz = (x: unknown) => (x instanceof Date || typeof x === "number" ? formatPgTimestamptz(x) : String(x));
	return {
		[types.TIMESTAMPTZ]: timestamptz,
		1185: (x: unknown) => types.arraySerializer(x, timestamptz, 1185),
	};
})();

const QUERY_OPTIONS = { parsers: CONTRACT_PARSERS, serializers: CONTRACT_SERIALIZERS };

/**
 * Statements `runTransaction` sends to open and end the transaction. PGlite's
 * own `transaction()` sends these (it must, to hold its transaction lock), so
 * here they are answered without reaching Postgres; savepoints go through.
 */
const ENDS = new Set(["BEGIN", "COMMIT", "ROLLBACK"]);

/**
 * A driver over a PGlite instance the application owns (or `ownsClient`).
 * Route the instance's queries through this driver (or `stores.kysely`)
 * while a transaction may run, or use the instance's own `transaction()`:
 * both wait for each other.
 */
export function pgliteDriver(pglite: PGliteInterface, options: PgliteDriverOptions = {}): Driver {
	return instanceDriver(async () => pglite, options.ownsClient ?? false);
}

/**
 * A driver that owns a new PGlite instance. Synchronous and lazy: PGlite
 * starts (a few seconds for a fresh database) on the first statement.
 */
export function createDriver(options: CreatePgliteDriverOptions = {}): Driver {
	let pending: Promise<PGliteInterface> | undefined;
	const start = () => {
		pending ??= PGlite.create({ ...options.pglite, dataDir: options.dataDir }).catch((error: unknown) => {
			// A failed start (say, an unreadable data directory) is retried by the next statement.
			pending = undefined;
			throw error;
		});
		return pending;
	};
	return instanceDriver(start, true, () => pending);
}

function instanceDriver(
	instance: () => Promise<PGliteInterface>,
	owns: boolean,
	started: () => Promise<PGliteInterface> | undefined = instance,
): Driver {
	return singleSessionDriver({
		name: "pglite",
		label: "PGlite",
		capabilities,
		run: async (sql, params) => run(await instance(), sql, params),
		async transaction(fn) {
			const pglite = await instance();
			try {
				return await pglite.transaction((ptx) =>
					runTransaction(
						{
							name: "pglite",
							capabilities,
							run: (sql, params) =>
								ENDS.has(sql) ? Promise.resolve({ rows: [], rowCount: 0 }) : run(ptx, sql, params),
						},
						fn,
					),
				);
			} catch (error) {
				throw isAbortedCommit(error) ? new TransactionRolledBackError() : error;
			}
		},
		async close() {
			const pglite = owns ? await started()?.catch(() => undefined) : undefined;
			if (pglite && !pglite.closed) await pglite.close();
		},
	});
}

/**
 * Run one statement. Without parameters it goes as a simple query, as
 * node-postgres sends it, so a text holding several statements (a migration
 * script) runs whole; the last statement's result is the answer.
 */
async function run<R>(runner: Runner, sql: string, params: readonly unknown[]): Promise<StatementResult<R>> {
	if (params.length === 0) {
		const results = await runner.exec(sql, QUERY_OPTIONS);
		return toResult<R>(results[results.length - 1]);
	}
	return toResult<R>(await runner.query<R>(sql, params as unknown[], QUERY_OPTIONS));
}

function toResult<R>(result: Results<unknown> | undefined): StatementResult<R> {
	if (!result) return { rows: [], rowCount: 0 };
	const rows = result.rows as R[];
	// `rowCount` comes from the command tag (rows returned or changed); statements without one report 0, as in pg.
	return { rows, rowCount: result.rowCount ?? 0, command: result.command };
}

/** PGlite's `TransactionAbortedError`: COMMIT answered ROLLBACK because a caught statement error aborted the transaction. */
function isAbortedCommit(error: unknown): boolean {
	return (
		typeof error === "object" &&
		error !== null &&
		(error as { code?: unknown }).code === "25P02" &&
		(error as { query?: unknown }).query === "COMMIT"
	);
}
