/**
 * Value conversion between Better Auth and Postgres, decided per field kind.
 * Drivers hand back timestamptz as Date, jsonb parsed, arrays as arrays and
 * int8 as string; inside `to_json` sub-objects dates arrive as ISO strings.
 */
import { InvalidValueError } from "./errors.js";
import type { FieldInfo, IdKind, ModelInfo } from "./model.js";

/** Convert one value for a parameter bound to `field`'s column. */
export function toDb(field: FieldInfo, idKind: IdKind, value: unknown): unknown {
	if (value === null || value === undefined) return null;
	if (field.isId && idKind === "serial") return toSerialId(field, value);
	switch (field.kind) {
		case "json":
			// Always serialise: pg would send a JS array as a Postgres array literal.
			return JSON.stringify(value);
		case "date": {
			const date = typeof value === "string" || typeof value === "number" ? new Date(value) : value;
			if (date instanceof Date && Number.isNaN(date.getTime())) {
				throw new InvalidValueError(`"${field.key}" needs a date; the value given is not a valid date.`);
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
const toDate = (v: unknown) => (typeof v === "string" ? new Date(v) : v);

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
