/**
 * Statement shapes and their cache keys. A shape is everything about a call
 * that changes its SQL text: the operation, the model, the fields, each
 * condition's operator and null-ness, joins, sort, whether there is an offset.
 * Values never enter a key; they go into the call's value list, and a
 * statement refers to them by {@link Slot}.
 *
 * Keys are strings joined with control characters, which no model, field or
 * operator name contains, so two different shapes never share a key.
 */
import type { FieldInfo, ModelInfo } from "../model.js";

/** The index of a value in a call's value list; a statement parameter refers to one. */
export type Slot = number;

/** The statement a shape compiles to; the first part of every key. */
export type ShapeOperation =
	| "create"
	| "select"
	| "count"
	| "update"
	| "updateMany"
	| "delete"
	| "consumeOne"
	| "incrementOne";

/** `select`'s row limit: findOne's constant `limit 1`, or a value (findMany's limit). */
export type LimitShape = "one" | { readonly slot: Slot };

/** Separates the parts of a key. */
const PART = "\u0003";
/** Ends each item of a list part (conditions, joins). */
const ITEM = "\u0002";
/** Separates the attributes of one item. */
const ATTR = "\u0001";

/** The key of a shape: `operation`, `model`, then each part (already a key fragment). */
export function shapeKey(operation: ShapeOperation, model: ModelInfo, ...parts: string[]): string {
	return `${operation}${PART}${model.key}${PART}${parts.join(PART)}`;
}

/** One item of a list part, from its attributes. */
export function itemKey(...attributes: (string | number | boolean)[]): string {
	// Concatenated, not mapped and joined: this runs for every condition of every call.
	let key = "";
	for (let i = 0; i < attributes.length; i++) {
		const a = attributes[i];
		key += `${i > 0 ? ATTR : ""}${typeof a === "boolean" ? (a ? 1 : 0) : a}`;
	}
	return key + ITEM;
}

/** A subset of `model`'s fields in the model's order, by key (`*` for all of them). */
export function fieldsKey(model: ModelInfo, fields: readonly FieldInfo[]): string {
	return fields.length === model.fields.length ? "*" : fields.map((f) => f.key).join(",");
}
