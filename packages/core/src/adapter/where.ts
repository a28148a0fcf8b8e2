/**
 * Better Auth `where` clauses: normalised per call into a shape key and a
 * value list, compiled once per shape into SQL.
 *
 * Semantics (as Better Auth's own adapters): `(all AND conditions) AND (any OR
 * condition)`; `eq`/`ne` null become `IS NULL`/`IS NOT NULL`; `in`/`not_in`
 * take one array parameter (`= any($1)`, `<> all($1)`), so every list length,
 * the empty one included, is one shape; LIKE patterns match `%`, `_`, `\`
 * literally.
 */
import type { Where } from "@better-auth/core/db/adapter";
import { type Expression, type RawBuilder, type SqlBool, sql } from "kysely";
import { InvalidValueError } from "../errors.js";
import type { FieldInfo, IdKind, ModelInfo } from "../model.js";
import type { AdapterContext } from "./context.js";
import { assertStorableText, toDb } from "./parameters.js";
import { itemKey, type Slot } from "./shape.js";

export type Operator = NonNullable<Where["operator"]>;

const operators = new Set<string>([
	"eq",
	"ne",
	"lt",
	"lte",
	"gt",
	"gte",
	"in",
	"not_in",
	"contains",
	"starts_with",
	"ends_with",
]);

/** One normalised condition. */
export interface Condition {
	readonly field: FieldInfo;
	readonly operator: Operator;
	readonly or: boolean;
	readonly insensitive: boolean;
	/** `eq`/`ne` against null: no parameter. */
	readonly isNull: boolean;
	/** Its value in the call's value list; none for `isNull`. */
	readonly slot: Slot | undefined;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, "\\$&");

function lowerText(field: FieldInfo, text: string): string {
	assertStorableText(field, text);
	return text.toLowerCase();
}

/**
 * Normalise `where` for `model`: push each value (converted for its column)
 * onto `values`, the conditions onto `out` when given, and return the shape key.
 */
export function normalizeWhere(
	model: ModelInfo,
	idKind: IdKind,
	where: readonly Where[] | undefined,
	values: unknown[],
	out?: Condition[],
): string {
	if (!where || where.length === 0) return "";
	let key = "";
	for (const w of where) {
		const field = model.field(w.field);
		const operator = (w.operator ?? "eq") as Operator;
		if (!operators.has(operator)) {
			throw new InvalidValueError(`Unknown where operator "${operator}" on "${model.key}.${field.key}".`);
		}
		const or = w.connector === "OR";
		let value: unknown = w.value;
		const isNull = value === null && (operator === "eq" || operator === "ne");
		let insensitive = false;
		let slot: Slot | undefined;
		if (!isNull) {
			if (operator === "in" || operator === "not_in") {
				if (!Array.isArray(value)) {
					if (operator === "in") {
						throw new InvalidValueError(`The "in" operator on "${model.key}.${field.key}" needs an array value.`);
					}
					value = [value];
				}
				const list = value as unknown[];
				insensitive = w.mode === "insensitive" && list.every((v) => typeof v === "string");
				value = list.map((v) => (insensitive ? lowerText(field, v as string) : toDb(field, idKind, v)));
			} else if (operator === "contains" || operator === "starts_with" || operator === "ends_with") {
				insensitive = w.mode === "insensitive" && typeof value === "string";
				const text = escapeLike(String(value));
				assertStorableText(field, text);
				value = operator === "contains" ? `%${text}%` : operator === "starts_with" ? `${text}%` : `%${text}`;
			} else {
				insensitive = w.mode === "insensitive" && typeof value === "string";
				value = toDb(field, idKind, value);
			}
			slot = values.length;
			values.push(value);
		}
		out?.push({ field, operator, or, insensitive, isNull, slot });
		key += itemKey(field.key, operator, or, insensitive, isNull);
	}
	return key;
}

/** Build the SQL predicate for `conditions` on `table` (undefined when empty). */
export function wherePredicate(
	table: string,
	conditions: readonly Condition[],
	param: (slot: Slot) => unknown,
): Expression<SqlBool> | undefined {
	const and: RawBuilder<SqlBool>[] = [];
	const or: RawBuilder<SqlBool>[] = [];
	for (const c of conditions) (c.or ? or : and).push(condition(table, c, param));
	if (or.length > 0) and.push(sql<SqlBool>`(${sql.join(or, sql` or `)})`);
	if (and.length === 0) return undefined;
	return sql<SqlBool>`${sql.join(and, sql` and `)}`;
}

function condition(table: string, c: Condition, param: (slot: Slot) => unknown): RawBuilder<SqlBool> {
	const column = sql.id(table, c.field.column);
	if (c.slot === undefined) return c.operator === "eq" ? sql`${column} is null` : sql`${column} is not null`;
	const value = param(c.slot);
	const lhs = c.insensitive ? sql`lower(${column})` : column;
	switch (c.operator) {
		case "eq":
			return c.insensitive ? sql`${lhs} = lower(${value})` : sql`${lhs} = ${value}`;
		case "ne":
			return c.insensitive ? sql`${lhs} <> lower(${value})` : sql`${lhs} <> ${value}`;
		case "lt":
			return sql`${lhs} < ${value}`;
		case "lte":
			return sql`${lhs} <= ${value}`;
		case "gt":
			return sql`${lhs} > ${value}`;
		case "gte":
			return sql`${lhs} >= ${value}`;
		case "in":
			return sql`${lhs} = any(${value})`;
		case "not_in":
			return sql`${lhs} <> all(${value})`;
		default: {
			// contains / starts_with / ends_with: a LIKE on text.
			const text = c.field.kind === "string" || c.field.isId ? column : sql`${column}::text`;
			// lower(column), not ilike: the expression a lower(…) index holds (as for eq and in).
			return c.insensitive ? sql`lower(${text}) like lower(${value})` : sql`${text} like ${value}`;
		}
	}
}

/**
 * A call's where clause: its values (more may be pushed after them), shape
 * key fragment and conditions. The conditions are only read to compile a
 * statement, once per shape, so they are worked out then rather than on
 * every call.
 */
export function filter(ctx: AdapterContext, model: ModelInfo, input: Where[] | undefined) {
	const values: unknown[] = [];
	const key = normalizeWhere(model, ctx.schema.idKind, input, values);
	const where = () => {
		const conditions: Condition[] = [];
		normalizeWhere(model, ctx.schema.idKind, input, [], conditions);
		return conditions;
	};
	return { values, where, key };
}
