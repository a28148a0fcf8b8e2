/**
 * Postgres text format ↔ JavaScript, done here rather than by postgres.js.
 *
 * An application's postgres.js instance may carry its own `types` (say,
 * int8 as `bigint`, dates as strings) and value transforms. The core needs
 * one fixed set of shapes (see `Driver` in `@authpg/core`), so the driver
 * decodes columns here by type OID (postgres.js 4 runs these decoders as the
 * query's own parsers; on 3.x the driver reads raw column bytes and decodes
 * them itself), and sends every parameter as text it has written itself.
 * Decoding follows node-postgres (`pg-types`), so every authpg driver hands
 * back the same values, also through `stores.kysely`.
 */

import { formatPgTimestamptz, parsePgTimestamp } from "@authpg/core/driver";

/** A column value as text; `null` for SQL NULL. */
type Decode = (text: string) => unknown;

const utf8 = new TextDecoder();

/** The text of one raw column value (postgres.js hands back the bytes of the text format). */
export function textOf(bytes: Uint8Array): string {
	return utf8.decode(bytes);
}

const toNumber: Decode = (text) => Number(text);
const toBoolean: Decode = (text) => text === "t";
const toJson: Decode = (text) => JSON.parse(text);

function toBytes(text: string): Uint8Array {
	// bytea_output = hex (the default since Postgres 9.0): `\x` then two hex digits per byte.
	const hex = text.startsWith("\\x") ? text.slice(2) : text;
	const bytes = new Uint8Array(hex.length >> 1);
	for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
	return bytes;
}

/** Decoders of scalar types by OID; every other type stays text (int8 and numeric included, as in pg). */
const SCALARS: Record<number, Decode> = {
	16: toBoolean, // bool
	17: toBytes, // bytea
	21: toNumber, // int2
	23: toNumber, // int4
	26: toNumber, // oid
	700: toNumber, // float4
	701: toNumber, // float8
	114: toJson, // json
	3802: toJson, // jsonb
	1082: (text) => parsePgTimestamp(text, true), // date: local midnight, as pg
	1114: (text) => parsePgTimestamp(text, true), // timestamp: local time, as pg
	1184: (text) => parsePgTimestamp(text, false), // timestamptz
};

/** Element type OID of the built-in array types (box[] is left out: its delimiter is `;`). */
const ARRAY_ELEMENTS: Record<number, number> = {
	1000: 16, // bool[]
	1001: 17, // bytea[]
	1002: 18, // char[]
	1003: 19, // name[]
	1005: 21, // int2[]
	1007: 23, // int4[]
	1009: 25, // text[]
	1014: 1042, // bpchar[]
	1015: 1043, // varchar[]
	1016: 20, // int8[]
	1021: 700, // float4[]
	1022: 701, // float8[]
	1028: 26, // oid[]
	1040: 829, // macaddr[]
	1041: 869, // inet[]
	651: 650, // cidr[]
	1115: 1114, // timestamp[]
	1182: 1082, // date[]
	1183: 1083, // time[]
	1185: 1184, // timestamptz[]
	1187: 1186, // interval[]
	1231: 1700, // numeric[]
	1270: 1266, // timetz[]
	199: 114, // json[]
	3807: 3802, // jsonb[]
	2951: 2950, // uuid[]
};

const identity: Decode = (text) => text;
const decoders = new Map<number, Decode>();

/** The decoder for a column of type `oid`. */
export function decoderFor(oid: number): Decode {
	let decode = decoders.get(oid);
	if (!decode) {
		const element = ARRAY_ELEMENTS[oid];
		if (element === undefined) decode = SCALARS[oid] ?? identity;
		else {
			const decodeElement = SCALARS[element] ?? identity;
			decode = (text) => parseArray(text, decodeElement);
		}
		decoders.set(oid, decode);
	}
	return decode;
}

/**
 * The parser postgres.js 4 runs on a column's text (`.parsers(columnParser)`), by its type OID:
 * the same decoders as {@link decoderFor}, or `null`, which keeps the text as it is. The same
 * function for the same OID every time, so postgres.js reuses the row reader it compiled.
 */
export function columnParser(column: { type: number }): Decode | null {
	const decode = decoderFor(column.type);
	return decode === identity ? null : decode;
}

/** Parse an array literal (`{a,"b c",NULL,{1,2}}`, possibly with `[1:2]=` bounds in front). */
export function parseArray(text: string, decode: Decode): unknown[] {
	let i = text.charCodeAt(0) === 91 /* [ */ ? text.indexOf("=") + 1 : 0;
	const root: unknown[] = [];
	const stack: unknown[][] = [];
	let current = root;
	// Position just after the opening brace of the outermost array.
	i++;
	while (i < text.length) {
		const c = text[i];
		if (c === "{") {
			const inner: unknown[] = [];
			current.push(inner);
			stack.push(current);
			current = inner;
			i++;
		} else if (c === "}") {
			const outer = stack.pop();
			if (!outer) break;
			current = outer;
			i++;
		} else if (c === ",") {
			i++;
		} else if (c === '"') {
			let value = "";
			i++;
			while (i < text.length && text[i] !== '"') {
				if (text[i] === "\\") i++;
				value += text[i];
				i++;
			}
			i++;
			current.push(decode(value));
		} else {
			let end = i;
			while (end < text.length && text[end] !== "," && text[end] !== "}") end++;
			const token = text.slice(i, end);
			current.push(token.length === 4 && token.toUpperCase() === "NULL" ? null : decode(token));
			i = end;
		}
	}
	return root;
}

/** Parameters go over as text of type `unknown`, so Postgres infers each type from where the parameter stands. */
export function encodeParameter(value: unknown): string | null {
	if (value === null || value === undefined) return null;
	switch (typeof value) {
		case "string":
			return value;
		case "number":
		case "bigint":
			return String(value);
		case "boolean":
			return value ? "true" : "false";
	}
	if (value instanceof Date) return formatPgTimestamptz(value);
	if (Array.isArray(value)) return arrayLiteral(value);
	if (value instanceof Uint8Array) return byteaLiteral(value);
	// As node-postgres does: any other object is sent as JSON.
	return JSON.stringify(value);
}

function arrayLiteral(values: readonly unknown[]): string {
	let out = "{";
	for (let i = 0; i < values.length; i++) {
		if (i > 0) out += ",";
		const value = values[i];
		if (value === null || value === undefined) out += "NULL";
		else if (Array.isArray(value)) out += arrayLiteral(value);
		else out += `"${(encodeParameter(value) as string).replace(/[\\"]/g, "\\$&")}"`;
	}
	return `${out}}`;
}

function byteaLiteral(bytes: Uint8Array): string {
	let hex = "\\x";
	for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
	return hex;
}
