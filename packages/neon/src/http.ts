/**
 * Single statements over Neon's SQL-over-HTTP API (`neon()`): one `fetch`
 * per statement, no connection to hold, so nothing to pool or close.
 */
import type { QueryResult } from "@authpg/core/driver";
import { type NeonQueryFunction, types } from "@neondatabase/serverless";

/** A `neon()` query function, whatever its `arrayMode`/`fullResults` defaults. */
export type NeonSql = NeonQueryFunction<any, any>;

/**
 * The driver's built-in parsers (timestamptz → Date, jsonb parsed, arrays as
 * arrays, int8 as string), passed with every statement so that `types` given
 * to an application's own `neon()` cannot change what the core receives.
 */
const BUILTIN_TYPES = {
	getTypeParser: (oid: number, format?: "text" | "binary") => types.getTypeParser(oid, format),
	// Neon 1.0's typings ask for the whole pg-types module here; only getTypeParser is ever called.
} as unknown as typeof types;

/** Run one parameterised statement over HTTP, with rows as objects and the affected count. */
export async function queryOverHttp<R>(
	sql: NeonSql,
	text: string,
	params: readonly unknown[],
): Promise<QueryResult<R>> {
	// Per-statement options override the query function's defaults, so an application's neon() may use any of them.
	const result = await sql.query(text, params as unknown[], {
		arrayMode: false,
		fullResults: true,
		types: BUILTIN_TYPES,
	});
	const rows = result.rows as R[];
	return { rows, rowCount: result.rowCount ?? rows.length };
}
