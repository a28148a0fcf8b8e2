/**
 * Statement execution on a node-postgres-compatible client (`pg.Client`, a
 * `pg.PoolClient`, Neon's WebSocket `Pool` clients), shared by the drivers
 * that hold such clients. Typed structurally: the core does not import `pg`.
 */
import { sql } from "kysely";
import { compiler } from "../compiler.js";
import type { QueryOptions } from "./contract.js";
import type { PreparedStatementNames } from "./prepared-names.js";
import type { StatementResult } from "./transaction.js";

/** The result shape node-postgres-compatible clients return. */
export interface PgLikeResult {
	rows?: unknown[];
	rowCount?: number | null;
	command?: string;
}

/** The part of a node-postgres-compatible client the drivers use. */
export interface PgLikeClient {
	query(config: { name?: string; text: string; values?: unknown[] }): Promise<unknown>;
}

/** pg 8's record of the statements prepared on a connection, if this client has one. */
export function parsedStatements(client: PgLikeClient): Record<string, string> | undefined {
	const parsed = (client as { connection?: { parsedStatements?: unknown } }).connection?.parsedStatements;
	// Evicting a name means editing this record; without it names cannot be bounded, so none are sent.
	return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, string>) : undefined;
}

/**
 * Run one statement on `client`, named when `names` admits it. The caller
 * guarantees nothing else is in flight on the client.
 */
export function runOnClient<R>(
	client: PgLikeClient,
	names: PreparedStatementNames | undefined,
	text: string,
	params: readonly unknown[],
	opts: QueryOptions | undefined,
): Promise<StatementResult<R>> {
	const values = params as unknown[];
	const name = opts?.name;
	// Not async: on the hot path (unnamed, or a name already prepared) this adds no promise of its own to pg's.
	if (name === undefined || !names) return client.query({ text, values }).then(toResult<R>);
	if (names.touch(name)) return client.query({ name, text, values }).then(toResult<R>);
	return names
		.admit(name, (victim) => deallocate(client, victim))
		.then((admitted) => client.query(admitted ? { name, text, values } : { text, values }))
		.then(toResult<R>);
}

/** A node-style callback: `error` is null or undefined on success. */
export type Callback<T> = (error: unknown, result?: T) => void;

/**
 * Call `method` (a pg-style method taking a trailing callback, e.g. `client.query`
 * or `pool.connect`) and deliver its outcome to `callback` exactly once.
 *
 * Why callbacks: pg's promise API costs a promise (and, under the async hooks
 * Better Auth enables, their bookkeeping) per call; measured on a pooled
 * findOne, the callback path saves 6–8 µs of client CPU per statement. A
 * look-alike that ignores the callback and returns a promise still works.
 */
export function callbackStyle<T>(call: (callback: Callback<T>) => unknown, callback: Callback<T>): void {
	let settled = false;
	const once: Callback<T> = (error, result) => {
		if (settled) return;
		settled = true;
		callback(error, result);
	};
	try {
		const returned = call(once) as PromiseLike<T> | undefined;
		if (returned && typeof returned.then === "function") {
			returned.then(
				(result) => once(null, result),
				(error: unknown) => once(error ?? new Error("authpg: the driver rejected without a reason")),
			);
		}
	} catch (error) {
		once(error);
	}
}

async function deallocate(client: PgLikeClient, name: string): Promise<void> {
	const parsed = parsedStatements(client);
	// A name whose Parse never succeeded does not exist server-side, and DEALLOCATE of it would abort a transaction.
	if (!parsed || parsed[name] === undefined) return;
	await client.query({ text: sql`deallocate ${sql.id(name)}`.compile(compiler).sql });
	delete parsed[name];
}

/** A client's raw answer as a {@link StatementResult}. */
export function toResult<R>(result: unknown): StatementResult<R> {
	// A parameterless text with several statements yields one result each; the last one is the answer.
	const last = (Array.isArray(result) ? result[result.length - 1] : result) as PgLikeResult | undefined;
	if (!last) return { rows: [], rowCount: 0 };
	return { rows: (last.rows ?? []) as R[], rowCount: last.rowCount ?? 0, command: last.command };
}
