/**
 * Value conversion between Better Auth and Postgres, decided per field kind.
 * Drivers hand back timestamptz as Date, jsonb parsed, arrays as arrays and
 * int8 as string; inside `to_json` sub-objects dates arrive as ISO strings.
 */
import { InvalidValueError } from "../errors.js";
import type { FieldInfo, IdKind, ModelInfo } from "../model.js";
import { parsePgTimestamp } from "../driver/timestamp-text.js";

/** Convert one value for a parameter bound to `field`'s column. */
export function toDb(field: FieldInfo, idKind: IdKind, value: unknown): unknown {
	if (value === null || value === undefined) return null;
	if (field.isId && idKind === "serial") return toSerialId(field, value);
	switch (field.kind) {
		case "string":
			if (typeof value === "string") assertStorableText(field, value);
			return value;
		case "string[]":
			if (Array.isArray(value)) {
				for (const item of value) {
					if (typeof item === "string") assertStorableText(field, item);
				}
			}
			return value;
		case "json": {
			// Always serialise: pg would send a JS array as a Postgres array literal.
			const json = JSON.stringify(value);
			if (typeof json === "string" && UNSTORABLE_JSON.test(json)) {
				throw new InvalidValueError(
					`"${field.key}" holds a NUL character (\\u0000) or an unpaired surrogate, which Postgres jsonb cannot store. Remove it, or encode the value (e.g. base64) first.`,
				);
			}
			return json;
		}
		case "date": {
			const date = typeof value === "string" || typeof value === "number" ? new Date(value) : value;
			if (date instanceof Date) {
				const time = date.getTime();
				if (Number.isNaN(time)) {
					throw new InvalidValueError(`"${field.key}" needs a date; the value given is not a valid date.`);
				}
				if (time < EARLIEST_TIMESTAMPTZ) {
					throw new InvalidValueError(
						`"${field.key}" holds a date before 4714-11-24 BC, the earliest a Postgres timestamptz can store.`,
					);
				}
			}
			return date;
		}
		case "number":
		case "bigint":
			return typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)) ? Number(value) : value;
		case "boolean":
			return value === "true" ? true : value === "false" ? false : value;
		default:
			return value;
	}
}

/** NUL, or any surrogate: the pre-check before {@link assertStorableText} looks closer. */
const UNSTORABLE_TEXT = /[\0\uD800-\uDFFF]/;
/** An unpaired surrogate (a paired one is a character outside the BMP, which is fine). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/**
 * In JSON text: a `\u0000` escape, or a surrogate escape (JSON.stringify
 * escapes only unpaired surrogates), preceded by an even number of backslashes.
 */
const UNSTORABLE_JSON = /(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F])/;
/** 4714-11-24 00:00:00 UTC BC (Julian day 0): the lower bound of timestamptz. JS dates never pass the upper one. */
const EARLIEST_TIMESTAMPTZ = Date.UTC(-4713, 10, 24);

/**
 * Postgres text cannot hold NUL (it fails with an obscure encoding error),
 * and a driver's UTF-8 encoder silently turns an unpaired surrogate into
 * U+FFFD, so the value would not read back as written: both are refused here,
 * naming the field and never echoing the value.
 */
export function assertStorableText(field: FieldInfo, value: string): void {
	if (!UNSTORABLE_TEXT.test(value)) return;
	if (value.includes("\0")) {
		throw new InvalidValueError(
			`"${field.key}" holds a NUL character (U+0000), which Postgres text cannot store. Remove it, or encode the value (e.g. base64) first.`,
		);
	}
	if (LONE_SURROGATE.test(value)) {
		throw new InvalidValueError(
			`"${field.key}" holds an unpaired UTF-16 surrogate, which is not valid Unicode and would not read back as written.`,
		);
	}
}

function toSerialId(field: FieldInfo, value: unknown): number {
	const n = typeof value === "number" ? value : Number(value);
	if (!Number.isSafeInteger(n)) {
		throw new InvalidValueError(
			`"${field.key}" holds a numeric id (advanced.database.generateId is "serial"), but the value given is not an integer.`,
		);
	}
	return n;
}

/** A conversion applied to one output key. */
export type OutputRule = readonly [key: string, convert: (value: unknown) => unknown];

const toStringId = (v: unknown) => (v === null || v === undefined ? v : String(v));
const toNumber = (v: unknown) => (typeof v === "string" ? Number(v) : v);
const toNumberArray = (v: unknown) => (Array.isArray(v) ? v.map((x) => (typeof x === "string" ? Number(x) : x)) : v);
const toDate = (v: unknown) => (typeof v === "string" ? jsonTimestamptz(v) : v);

/**
 * A timestamptz as `to_json` writes it (the nested rows of a join). `Date`
 * reads the usual ones; years past 9999, ` BC` and offsets with seconds (old
 * local times) take the exact parser.
 */
function jsonTimestamptz(text: string): Date {
	const fast = new Date(text);
	if (!Number.isNaN(fast.getTime()) && !text.endsWith(" BC")) return fast;
	const exact = parsePgTimestamp(text.replace("T", " "));
	return exact instanceof Date ? exact : fast;
}

/**
 * The conversions a row of `model` needs. `nested` rows come from `to_json`,
 * where timestamptz is an ISO string.
 */
export function outputRules(model: ModelInfo, idKind: IdKind, nested: boolean): OutputRule[] {
	const rules: OutputRule[] = [];
	for (const f of model.fields) {
		if (f.isId) {
			if (idKind === "serial") rules.push([f.key, toStringId]);
		} else if (f.kind === "bigint") rules.push([f.key, toNumber]);
		else if (f.kind === "number[]") rules.push([f.key, toNumberArray]);
		else if (nested && f.kind === "date") rules.push([f.key, toDate]);
	}
	return rules;
}

/** Apply rules to a row in place and return it. */
export function applyRules(row: Record<string, unknown>, rules: readonly OutputRule[]): Record<string, unknown> {
	for (const [key, convert] of rules) {
		if (key in row) row[key] = convert(row[key]);
	}
	return row;
}

/** Run the fields' `transform.output` hooks (rare: only when a schema declares them). */
export async function applyOutputTransforms(
	model: ModelInfo,
	row: Record<string, unknown>,
): Promise<Record<string, unknown>> {
	for (const f of model.fields) {
		const output = f.attr.transform?.output;
		if (output && f.key in row) row[f.key] = await output(row[f.key] as never);
	}
	return row;
}
