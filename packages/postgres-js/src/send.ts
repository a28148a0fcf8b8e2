/**
 * One statement sent through postgres.js and its rows read back as the core
 * expects them: on 4.x with the driver's parsers and without the instance's
 * transform, on 3.x as raw column bytes decoded here.
 */

import type { QueryResult } from "@authpg/core/driver";
import type { Sql, TransactionSql } from "postgres";
import { columnParser, decoderFor, textOf } from "./text-format.js";

export type Statements = Sql<any> | TransactionSql<any>;

/** A result as postgres.js resolves it: rows, with the command's tag and count. */
interface Rows<T> extends Array<T> {
	count: number | null;
	command: string | null;
}

/** A raw result (3.x `.raw()`): column bytes per row, and the columns' names and type OIDs. */
interface RawRows extends Rows<(Uint8Array | null)[]> {
	columns: readonly { name: string; type: number }[] | null;
}

/** How `sql.unsafe` is called: prepared or not, and the simple protocol for parameterless texts. */
export interface SendOptions {
	prepare: boolean;
	simple: boolean;
}

// `simple` (the text protocol) is postgres.js's default without parameters; a named statement needs the extended one.
// Shared by every statement (postgres.js copies them), so frozen.
export const PREPARED: SendOptions = Object.freeze({ prepare: true, simple: false });
export const SIMPLE: SendOptions = Object.freeze({ prepare: false, simple: true });
export const EXTENDED: SendOptions = Object.freeze({ prepare: false, simple: false });

/**
 * A statement as postgres.js gets it: a text for `sql.unsafe` with its send
 * options, or a named statement's text cut at its placeholders (see
 * {@link templateOf}), sent as a tagged template.
 */
export type Statement = { text: string; options: SendOptions } | TemplateStringsArray;

/** Sends one statement and hands its rows back as the core expects them. */
export type Send = (
	on: Statements,
	statement: Statement,
	args: readonly unknown[],
) => Promise<QueryResult<Record<string, unknown>>>;

/**
 * `text` cut at its placeholders `$1` … `$n` into the strings of a tagged
 * template, or `undefined` unless they come exactly once each and in order.
 * postgres.js keeps a prepared statement per template object, found by
 * identity, where `sql.unsafe` makes it build and hash a key of the whole text
 * (some 400 characters for a session) on every call. The template rebuilds
 * the same text, and the statement's values are all typed parameters, which
 * postgres.js binds as they are (never as fragments or helpers).
 */
export function templateOf(text: string): TemplateStringsArray | undefined {
	const strings: string[] = [];
	let from = 0;
	let count = 0;
	// Not inside a word, a quoted name or a literal's first character: `$1` there is no placeholder.
	for (const match of text.matchAll(/(?<![\w$"'])\$(\d+)/g)) {
		if (Number(match[1]) !== ++count) return undefined;
		strings.push(text.slice(from, match.index));
		from = match.index + match[0].length;
	}
	strings.push(text.slice(from));
	return Object.freeze(Object.assign(strings, { raw: Object.freeze(strings.slice()) }));
}

/** The query postgres.js makes of `statement` on `on`. */
function queryOf(on: Statements, statement: Statement, args: readonly unknown[]) {
	return "raw" in statement
		? on(statement, ...(args as never[]))
		: on.unsafe(statement.text, args as never[], statement.options);
}

/**
 * postgres.js 4: rows read with the driver's decoders as the query's own
 * parsers, and without the instance's transform, so its column renames,
 * value transforms and `types` change nothing here. postgres.js builds the
 * row objects itself, with a row reader it compiles once per result shape.
 */
export function parsedSender(sql: Sql<any>): Send {
	const parser = instanceParsers(sql);
	return (on, statement, args) => {
		const query = queryOf(on, statement, args) as unknown as ParsedQuery;
		// `then`, not `await`: a query is a thenable of its own class, which `await` would wrap in one more promise.
		return query.transform(false).parsers(parser).then(parsedResult);
	};
}

function parsedResult(result: Rows<Record<string, unknown>> | Rows<Record<string, unknown>>[]) {
	// A parameterless text with several statements yields one result each; the last one is the answer.
	const last = "command" in result ? result : result[result.length - 1];
	if (!last) return { rows: [], rowCount: 0 };
	// A plain array: postgres.js's result is an Array subclass carrying its own fields (and
	// `slice` would make another of those, through its constructor).
	const rows = new Array<Record<string, unknown>>(last.length);
	for (let i = 0; i < rows.length; i++) rows[i] = last[i];
	return { rows, rowCount: last.count ?? 0 };
}

/**
 * Types whose postgres.js parser reads exactly what the driver's decoder does
 * (bool, int2, int4, oid, timestamptz), and which postgres.js 4 decodes from
 * the wire bytes when its own parser is the query's: no string in between.
 */
const NATIVE_TYPES = [16, 21, 23, 26, 1184];

/**
 * The query parsers for `sql`: postgres.js's own for {@link NATIVE_TYPES}
 * where the instance's `types` leave them as postgres.js made them, the
 * driver's decoders for everything else.
 */
function instanceParsers(sql: Sql<any>): typeof columnParser {
	const custom = Object.values((sql.options.types ?? {}) as Record<string, { to?: unknown; from?: unknown }>);
	const oids = custom.flatMap((type) => [type.to, ...[type.from ?? []].flat()]);
	// A type named by its name is resolved on connect and may be any of them.
	if (oids.some((oid) => typeof oid === "string")) return columnParser;
	// One lookup per column of every result: the adopted parser, else the driver's decoder (null for text).
	const byType = new Map<number, ReturnType<typeof columnParser>>();
	const parsers = sql.options.parsers as unknown as Record<number, unknown>;
	for (const oid of NATIVE_TYPES) {
		const parse = oids.includes(oid) ? undefined : parsers[oid];
		if (typeof parse === "function") byType.set(oid, parse as (text: string) => unknown);
	}
	return (column) => {
		let parse = byType.get(column.type);
		if (parse === undefined) {
			parse = columnParser(column);
			byType.set(column.type, parse);
		}
		return parse;
	};
}

/** The postgres.js 4 query methods `parsedSender` uses (3.x has neither, so the types are spelled out here). */
interface ParsedQuery {
	transform(enabled: false): ParsedQuery;
	parsers(parser: (column: { type: number }) => ((text: string) => unknown) | null): ParsedQuery;
	then<T>(onfulfilled: (result: Rows<Record<string, unknown>> | Rows<Record<string, unknown>>[]) => T): Promise<T>;
}

/** postgres.js 3.x: raw column bytes (which no transform or type of the instance touches), decoded here. */
export async function sendRaw(
	on: Statements,
	statement: Statement,
	args: readonly unknown[],
): Promise<QueryResult<Record<string, unknown>>> {
	const result = (await queryOf(on, statement, args).raw()) as unknown as RawRows | RawRows[];
	return decodeRaw(result);
}

function decodeRaw(result: RawRows | RawRows[]): QueryResult<Record<string, unknown>> {
	// A parameterless text with several statements yields one result each; the last one is the answer.
	const last = "command" in result ? result : result[result.length - 1];
	if (!last) return { rows: [], rowCount: 0 };
	const columns = last.columns ?? [];
	const names = columns.map((column) => column.name);
	const decoders = columns.map((column) => decoderFor(column.type));
	const rows: Record<string, unknown>[] = [];
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
		rows.push(row);
	}
	return { rows, rowCount: last.count ?? 0 };
}
