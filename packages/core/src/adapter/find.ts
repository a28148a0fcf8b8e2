/**
 * The statement of a findOne or findMany: its where clause, joins, selected
 * fields, sort, limit and offset as a shape key and values, compiled once per
 * shape.
 */
import type { JoinOption, Where } from "@better-auth/core/db/adapter";
import type { FieldInfo, ModelInfo } from "../model.js";
import type { AdapterContext } from "./context.js";
import { type ResolvedJoins, resolveJoins } from "./join.js";
import { fieldsKey, type LimitShape, type Slot, shapeKey } from "./shape.js";
import { buildSelect } from "./statements.js";
import { filter } from "./where.js";

/** The fields a select returns: `select`, plus the base side of each join, which Better Auth keeps. */
function selectFields(model: ModelInfo, select: string[] | undefined, joins: ResolvedJoins): readonly FieldInfo[] {
	if (!select || select.length === 0) return model.fields;
	const fields = new Set(select.map((name) => model.field(name)));
	for (const join of joins.joins) fields.add(join.from);
	return model.fields.filter((f) => fields.has(f));
}

export interface FindArgs {
	where?: Where[] | undefined;
	select?: string[] | undefined;
	join?: JoinOption | undefined;
	limit?: number | undefined;
	offset?: number | undefined;
	sortBy?: { field: string; direction: "asc" | "desc" } | undefined;
}

/** The statement and values of a findOne (`limit 1`) or findMany (a limit, maybe an offset). */
export function findStatement(ctx: AdapterContext, op: "findOne" | "findMany", model: ModelInfo, args: FindArgs) {
	const { schema } = ctx;
	const { values, where, key: whereKey } = filter(ctx, model, args.where);
	const joins = resolveJoins(schema, model, args.join);
	const fields = selectFields(model, args.select, joins);
	const sort = args.sortBy
		? { field: model.field(args.sortBy.field), desc: args.sortBy.direction === "desc" }
		: undefined;
	let limit: LimitShape = "one";
	let offset: Slot | undefined;
	if (op === "findMany") {
		limit = { slot: values.push(args.limit ?? schema.defaultLimit) - 1 };
		if (args.offset !== undefined && args.offset !== null) offset = values.push(args.offset) - 1;
	}
	const key = shapeKey(
		"select",
		model,
		whereKey,
		fieldsKey(model, fields),
		joins.key,
		sort ? `${sort.field.key}${sort.desc ? "-" : "+"}` : "",
		`${limit === "one" ? "1" : "n"}${offset === undefined ? "" : "o"}`,
	);
	const stmt = ctx.cache.get(key, () => ({
		...buildSelect(schema.namespace, { model, where: where(), fields, joins: joins.joins, sort, limit, offset }),
		read: { model: model.key, single: op === "findOne" },
	}));
	return { stmt, values, joins };
}
