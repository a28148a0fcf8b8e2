/**
 * A call's values as statement parameters, decided per field kind: dates
 * checked, JSON serialised, serial ids as integers, and text Postgres cannot
 * hold refused (naming the field, never the value).
 */
import { InvalidValueError } from "../errors.js";
import type { FieldInfo, IdKind } from "../model.js";

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
