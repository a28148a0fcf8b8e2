/**
 * The input side of Better Auth's factory, decided per call: defaults,
 * `onUpdate`, ISO strings to dates and `transform.input`, then each value
 * turned into a parameter. Synchronous unless a transform is async.
 */
import { InvalidValueError } from "../errors.js";
import type { FieldInfo, IdKind, ModelInfo } from "../model.js";
import { toDb } from "./parameters.js";
import type { Slot } from "./shape.js";

type Row = Record<string, unknown>;

/**
 * Input rules of Better Auth's factory for one field: ISO strings become
 * dates, defaults (create) or `onUpdate` (update) fill absent values, then
 * the field's own `transform.input` runs.
 */
export function inputValue(field: FieldInfo, value: unknown, action: "create" | "update"): unknown {
	const attr = field.attr;
	if (field.kind === "date" && typeof value === "string") value = new Date(value);
	if (action === "create") {
		if ((value === undefined || (attr.required === true && value === null)) && attr.defaultValue !== undefined) {
			value = typeof attr.defaultValue === "function" ? attr.defaultValue() : attr.defaultValue;
		}
	} else if (value === undefined && attr.onUpdate) {
		value = attr.onUpdate();
	}
	if (attr.transform?.input && (value !== undefined || action === "create")) {
		// May be a promise; callers await only then, so fields without async transforms cost no promise.
		value = attr.transform.input(value as never);
	}
	return value;
}

/** Columns to set, in model order, with their value slots and a shape key. */
export interface Assignments {
	fields: FieldInfo[];
	slots: Slot[];
	/** Shape key fragment: the fields set. */
	key: string;
}

/**
 * Turn each field's input value into a parameter (fields whose value is
 * undefined are left out), awaiting only when some transform was async.
 */
export function assign(
	idKind: IdKind,
	inputs: { field: FieldInfo; value: unknown }[],
	values: unknown[],
): Assignments | Promise<Assignments> {
	if (inputs.some((input) => input.value instanceof Promise)) {
		return Promise.all(inputs.map((input) => input.value)).then((resolved) =>
			assign(
				idKind,
				inputs.map((input, i) => ({ field: input.field, value: resolved[i] })),
				values,
			),
		);
	}
	const fields: FieldInfo[] = [];
	const slots: Slot[] = [];
	let key = "";
	for (const { field, value } of inputs) {
		if (value === undefined) continue;
		fields.push(field);
		slots.push(values.push(toDb(field, idKind, value)) - 1);
		key += `${field.key},`;
	}
	return { fields, slots, key };
}

/** One field's input value (maybe a promise, when its transform is async). */
export type Input = { field: FieldInfo; value: unknown };

/**
 * Resolve the columns to set for an update (`onUpdate` applied). `seal`, when
 * given, turns the values into what is stored (sealed fields) before they
 * become parameters.
 */
export function updateColumns(
	idKind: IdKind,
	model: ModelInfo,
	data: Row,
	values: unknown[],
	seal?: (inputs: Input[]) => Promise<Input[]>,
): Assignments | Promise<Assignments> {
	const inputs: Input[] = [];
	for (const field of model.fields) {
		const value = data[field.key];
		if (value === undefined && !field.attr.onUpdate) continue;
		inputs.push({ field, value: inputValue(field, value, "update") });
	}
	return seal ? seal(inputs).then((sealed) => assign(idKind, sealed, values)) : assign(idKind, inputs, values);
}

/** incrementOne's deltas as values, with the fields they add to and the shape key fragment. */
export function increments(model: ModelInfo, increment: Record<string, unknown> | undefined, values: unknown[]) {
	const fields: FieldInfo[] = [];
	const slots: Slot[] = [];
	for (const [name, delta] of Object.entries(increment ?? {})) {
		const field = model.field(name);
		if (typeof delta !== "number" || !Number.isFinite(delta)) {
			throw new InvalidValueError(`incrementOne on "${model.key}.${field.key}" needs a finite number delta.`);
		}
		fields.push(field);
		slots.push(values.push(delta) - 1);
	}
	// In the order given, which is the order of the SET list: never "*" (fieldsKey), whose order is the model's.
	return { fields, slots, key: fields.map((f) => f.key).join(",") };
}
