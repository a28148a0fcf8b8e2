import type { Sql } from "postgres";

/** The postgres.js majors the driver knows: 3 (3.4.x) and 4 (4.x and later). */
export type PostgresJsMajor = 3 | 4;

/**
 * The postgres.js major `sql` was created by, read from the instance itself:
 * the application's `postgres` may be another copy, or another major, than
 * the one next to this package, and its package.json is not importable
 * (postgres.js 4 exports only its entry point).
 *
 * postgres.js keeps every option it knows, defaults included, in
 * `sql.options`, and drops the ones it does not know. `query_timeout` is new
 * in 4.0, so an instance whose options have it is a 4.x instance; one
 * without it is 3.x, whatever the application passed.
 */
export function postgresJsMajor(sql: Sql<any>): PostgresJsMajor {
	return "query_timeout" in sql.options ? 4 : 3;
}
