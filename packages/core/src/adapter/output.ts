/**
 * Rows as Better Auth expects them back, decided per field kind. Drivers hand
 * back timestamptz as Date, jsonb parsed, arrays as arrays and int8 as
 * string; inside `to_json` sub-objects dates arrive as ISO strings.
 */
import { parsePgTimestamp } from "../driver/timestamp-text.js";
import type { IdKind, ModelInfo } from "../model.js";

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
