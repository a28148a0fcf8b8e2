/**
 * Better Auth's `join` option resolved as its adapter factory does: find the
 * one foreign key between the two models (joined → base first, then base →
 * joined); a join on the other model's id or on a unique key is one-to-one
 * (an object or null), anything else one-to-many (an array, limited).
 *
 * A one-to-one join on the joined model's id (a session's user) is read
 * flat: a left join whose columns (`user.name`, …) stand beside the base's
 * and are put back into one object per row here. The others are sub-selects
 * read as JSON (see `buildSelect`).
 */
import type { JoinOption } from "@better-auth/core/db/adapter";
import { InvalidValueError } from "../errors.js";
import type { CompiledSchema, FieldInfo, ModelInfo } from "../model.js";
import { itemKey } from "./shape.js";
import type { JoinShape } from "./statements.js";

export interface ResolvedJoins {
	readonly joins: readonly JoinShape[];
	/** Shape key fragment. */
	readonly key: string;
	/** The result columns of the flat joins, when there are any (see {@link nestFlatJoins}). */
	readonly flat?: ReadonlyMap<string, FieldInfo> | undefined;
}

const none: ResolvedJoins = { joins: [], key: "" };

export function resolveJoins(schema: CompiledSchema, base: ModelInfo, option: JoinOption | undefined): ResolvedJoins {
	if (!option) return none;
	const joins: JoinShape[] = [];
	let key = "";
	// The common case, one flat join (a session's user), shares that join's map; more are rare.
	let flat: ReadonlyMap<string, FieldInfo> | undefined;
	for (const [name, spec] of Object.entries(option)) {
		if (!spec) continue;
		const model = schema.model(name);
		const join = resolved(schema, base, model, typeof spec === "object" ? spec.limit : undefined);
		joins.push(join);
		key += itemKey(model.key, join.limit);
		if (join.flat) flat = flat ? new Map([...flat, ...join.flat]) : join.flat;
	}
	return joins.length ? { joins, key, flat } : none;
}

/**
 * `row` with each flat join's columns gathered into one object under the
 * joined model's key, or `null` where the left join found no row (its id,
 * never null in a row, is null).
 */
export function nestFlatJoins(row: Record<string, unknown>, joins: ResolvedJoins): Record<string, unknown> {
	const flat = joins.flat;
	if (!flat) return row;
	// A new object rather than deleting keys: a row object with deleted keys turns into a slow dictionary.
	const out: Record<string, unknown> = {};
	for (const key in row) if (!flat.has(key)) out[key] = row[key];
	for (const join of joins.joins) {
		if (!join.flat) continue;
		const item: Record<string, unknown> = {};
		for (const [alias, field] of join.flat) item[field.key] = row[alias];
		out[join.model.key] = item[join.to.key] === null || item[join.to.key] === undefined ? null : item;
	}
	return out;
}

/** Resolved joins per schema, by base, joined model and limit: a session read with its user resolves it on every call. */
const cache = new WeakMap<CompiledSchema, Map<string, JoinShape>>();

function resolved(schema: CompiledSchema, base: ModelInfo, model: ModelInfo, limit: number | undefined): JoinShape {
	let bySchema = cache.get(schema);
	if (!bySchema) {
		bySchema = new Map();
		cache.set(schema, bySchema);
	}
	const key = `${base.key}\u0000${model.key}\u0000${limit}`;
	let join = bySchema.get(key);
	if (!join) {
		join = resolveOne(schema, base, model, limit);
		bySchema.set(key, join);
	}
	return join;
}

function foreignKeys(from: ModelInfo, to: ModelInfo): FieldInfo[] {
	return from.fields.filter((f) => f.attr.references?.model === to.key);
}

function resolveOne(schema: CompiledSchema, base: ModelInfo, model: ModelInfo, limit: number | undefined): JoinShape {
	let keys = foreignKeys(model, base);
	const forward = keys.length > 0;
	if (!forward) keys = foreignKeys(base, model);
	if (keys.length !== 1) {
		throw new InvalidValueError(
			keys.length === 0
				? `Cannot join "${model.key}" to "${base.key}": no foreign key links them.`
				: `Cannot join "${model.key}" to "${base.key}": more than one foreign key links them.`,
		);
	}
	const fk = keys[0]!;
	const referenced = fk.attr.references!.field;
	// forward: joined.fk = base.referenced; backward: joined.referenced = base.fk
	const from = forward ? base.field(referenced) : fk;
	const to = forward ? fk : model.field(referenced);
	const oneToOne = to.key === "id" || fk.attr.unique === true;
	// On the joined model's primary key a left join finds at most one row; a model joined to itself keeps
	// the sub-select, which needs no alias.
	const flat =
		to === model.id && model !== base ? new Map(model.fields.map((f) => [`${model.key}.${f.key}`, f])) : undefined;
	return {
		model,
		from,
		to,
		oneToOne,
		limit: oneToOne ? 1 : (limit ?? schema.defaultLimit),
		flat,
	};
}
