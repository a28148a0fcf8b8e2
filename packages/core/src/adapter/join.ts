/**
 * Better Auth's `join` option resolved as its adapter factory does: find the
 * one foreign key between the two models (joined → base first, then base →
 * joined); a join on the other model's id or on a unique key is one-to-one
 * (an object or null), anything else one-to-many (an array, limited).
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
}

const none: ResolvedJoins = { joins: [], key: "" };

export function resolveJoins(schema: CompiledSchema, base: ModelInfo, option: JoinOption | undefined): ResolvedJoins {
	if (!option) return none;
	const joins: JoinShape[] = [];
	let key = "";
	for (const [name, spec] of Object.entries(option)) {
		if (!spec) continue;
		const model = schema.model(name);
		const join = resolved(schema, base, model, typeof spec === "object" ? spec.limit : undefined);
		joins.push(join);
		key += itemKey(model.key, join.limit);
	}
	return joins.length ? { joins, key } : none;
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
	return {
		model,
		from,
		to,
		oneToOne,
		limit: oneToOne ? 1 : (limit ?? schema.defaultLimit),
	};
}
