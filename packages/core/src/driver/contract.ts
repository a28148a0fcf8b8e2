/**
 * The seam between the core and a Postgres client. Kept as small as Kysely's
 * `Driver`/`DatabaseConnection` pair: everything else (SQL, conversion,
 * transactions semantics) lives in the core.
 */

/** Result of one statement. */
export interface QueryResult<R> {
	rows: R[];
	/** Rows affected by INSERT/UPDATE/DELETE, or returned by SELECT. */
	rowCount: number;
}

/** Per-statement options. */
export interface QueryOptions {
	/**
	 * A stable name for the statement text (a hash of it). A driver that can
	 * prepare server-side statements uses it as the statement name; others ignore it.
	 */
	name?: string;
	/**
	 * Set by the adapter on the statements of `findOne`, `findMany` and `count`
	 * only: the statement reads and may be answered by a replica (see
	 * `replicatedDriver`). Every other statement — writes, `consumeOne`,
	 * `incrementOne`, the stores, migrations, the application's own — carries
	 * none and goes to the primary. Drivers without replicas ignore it.
	 */
	read?: ReadHint;
}

/** What the adapter tells a driver about a statement that only reads. */
export interface ReadHint {
	/** Better Auth's model key (`session`, `user`, …), for per-model routing. */
	readonly model: string;
	/**
	 * A `findOne`: at most one row is wanted, and finding none on a replica
	 * may only mean the row was written after the replica's replay position,
	 * so the statement is asked again of the primary (read-your-writes).
	 */
	readonly single: boolean;
}

/** What a driver can do; the core adapts its behaviour to these. */
export interface DriverCapabilities {
	/** Interactive transactions (`BEGIN … COMMIT` across several round trips). */
	transactions: boolean;
	/** Server-side named prepared statements are used when `opts.name` is given. */
	preparedStatements: boolean;
}

/**
 * A Postgres connection (or pool) as the core sees it.
 *
 * Contract for values handed back in `rows` (checked by the conformance suite):
 * `timestamptz` → `Date`, `boolean` → `boolean`, `jsonb`/`json` → parsed value,
 * `int4` → `number`, `int8` → `string` or `number` or `bigint` (the core converts),
 * `text[]`/`int8[]` → arrays, `numeric` → `string`.
 * Parameters: `Date` and arrays are passed through as JS values; jsonb
 * parameters are already serialised by the core.
 */
export interface Driver {
	/** Short identifier, e.g. `"pool"`, `"node-postgres"`. */
	readonly name: string;
	readonly capabilities: DriverCapabilities;
	/** Run one parameterised statement. */
	query<R = Record<string, unknown>>(
		sql: string,
		params: readonly unknown[],
		opts?: QueryOptions,
	): Promise<QueryResult<R>>;
	/**
	 * Run `fn` inside one transaction on one connection: commit when it
	 * resolves, roll back when it rejects (and rethrow). `tx` is a driver bound
	 * to that connection; calling `tx.transaction` opens a savepoint.
	 */
	transaction<T>(fn: (tx: Driver) => Promise<T>): Promise<T>;
	/** End the connection(s) this driver owns. Idempotent. */
	close(): Promise<void>;
}
