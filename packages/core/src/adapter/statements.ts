/**
 * Turns an operation shape into one parameterised Postgres statement,
 * compiled with Kysely once per shape and cached. A hot call is a cache
 * lookup plus mapping the call's values onto the parameter plan.
 *
 * Kysely builds each shape with `Param` markers in place of values; the
 * compiled parameter list is mapped back to value slots by marker identity
 * (Kysely's parameter order is not the order markers were placed in).
 */
import { type AliasedExpression, type CompiledQuery, type SqlBool, sql } from "kysely";
import { jsonArrayFrom, jsonObjectFrom } from "kysely/helpers/postgres";
import { compiler } from "../compiler.js";
import type { ReadHint } from "../driver/contract.js";
import type { FieldInfo, ModelInfo } from "../model.js";
import { COMPANION_ROW, type Companion } from "./companion.js";
import type { LimitShape, Slot } from "./shape.js";
import { type Condition, wherePredicate } from "./where.js";

/** A compiled statement: SQL text, its statement name, and its parameter plan. */
export interface Statement {
	readonly sql: string;
	/**
	 * Derived from the SQL text and the schema fingerprint: one name never
	 * means two texts, and a schema whose column types changed (which changes
	 * the prepared parameter types) gets new names.
	 */
	readonly name: string;
	/** For each `$n`, the index of its value in the call's value list. */
	readonly plan: readonly number[];
	/** On reads only: a statement is its own `QueryOptions`, so the hint costs nothing per call. */
	readonly read?: ReadHint;
}

/** A value marker: stands for slot `slot` of the call's value list. */
class Param {
	constructor(readonly slot: Slot) {}
}
const param = (slot: Slot) => new Param(slot);

/** A join resolved from Better Auth's `join` option. */
export interface JoinShape {
	readonly model: ModelInfo;
	/** Column of the base table and of the joined table that must be equal. */
	readonly from: FieldInfo;
	readonly to: FieldInfo;
	readonly oneToOne: boolean;
	readonly limit: number;
	/**
	 * Set for a one-to-one join on the joined model's id: read by a left join,
	 * its columns aliased `model.field` beside the base's (result alias → field).
	 */
	readonly flat?: ReadonlyMap<string, FieldInfo> | undefined;
}

export interface SelectShape {
	readonly model: ModelInfo;
	readonly where: readonly Condition[];
	readonly fields: readonly FieldInfo[];
	readonly joins: readonly JoinShape[];
	readonly sort?: { field: FieldInfo; desc: boolean } | undefined;
	readonly limit: LimitShape;
	readonly offset?: Slot | undefined;
}

const columns = (table: string, fields: readonly FieldInfo[]) => fields.map((f) => sql.id(table, f.column).as(f.key));

function finish(query: { compile(): CompiledQuery }): Statement {
	const compiled = query.compile();
	const plan = compiled.parameters.map((p) => {
		if (!(p instanceof Param)) throw new Error("authpg: a statement parameter is not a value marker");
		return p.slot;
	});
	return { sql: compiled.sql, name: "", plan };
}

/**
 * `select … from t [left join …] [where] [order by] [limit] [offset]`: flat
 * joins as left joins, the others as sub-selects read as JSON.
 */
export function buildSelect(ns: string, shape: SelectShape): Statement {
	const { model, joins } = shape;
	const db = compiler.withSchema(ns);
	const selections: AliasedExpression<unknown, string>[] = columns(model.table, shape.fields);
	let from = db.selectFrom(model.table);
	for (const join of joins) {
		const table = join.model.table;
		const on = sql<SqlBool>`${sql.id(table, join.to.column)} = ${sql.id(model.table, join.from.column)}`;
		if (join.flat) {
			from = from.leftJoin(table, (jb) => jb.on(on)) as never;
			for (const [alias, field] of join.flat) selections.push(sql.id(table, field.column).as(alias));
			continue;
		}
		const sub = db
			.selectFrom(join.model.table)
			.select(columns(join.model.table, join.model.fields))
			.where(on)
			.limit(sql.lit(join.limit));
		selections.push(join.oneToOne ? jsonObjectFrom(sub).as(join.model.key) : jsonArrayFrom(sub).as(join.model.key));
	}
	let query = from.select(selections as never);
	const predicate = wherePredicate(model.table, shape.where, param);
	if (predicate) query = query.where(predicate);
	if (shape.sort) query = query.orderBy(sql.id(model.table, shape.sort.field.column), shape.sort.desc ? "desc" : "asc");
	query = query.limit(shape.limit === "one" ? sql.lit(1) : (param(shape.limit.slot) as never));
	if (shape.offset !== undefined) query = query.offset(param(shape.offset) as never);
	return finish(query);
}

/** `select count(*) from t [where]`. */
export function buildCount(ns: string, model: ModelInfo, where: readonly Condition[]): Statement {
	let query = compiler.withSchema(ns).selectFrom(model.table).select(sql<string>`count(*)`.as("count"));
	const predicate = wherePredicate(model.table, where, param);
	if (predicate) query = query.where(predicate);
	return finish(query);
}

/** `insert … returning`; `fields[i]` takes value slot `slots[i]`. */
export function buildInsert(
	ns: string,
	model: ModelInfo,
	fields: readonly FieldInfo[],
	slots: readonly Slot[],
	returning: readonly FieldInfo[],
): Statement {
	const insert = compiler.withSchema(ns).insertInto(model.table);
	const values = Object.fromEntries(fields.map((f, i) => [f.column, param(slots[i]!)]));
	const query = fields.length > 0 ? insert.values(values) : insert.defaultValues();
	return finish(query.returning(columns(model.table, returning) as never));
}

/**
 * `insert` (returning every field) as the CTE `"authpg_row"`, `companion` as a
 * second CTE reading it, and the `returning` fields selected from the row: one
 * statement, so both commit or neither does. Postgres runs a data-modifying
 * CTE exactly once whether or not the main query reads it. The companion's
 * values are the call's values from slot `first` on.
 */
export function withCompanion(
	insert: Statement,
	returning: readonly FieldInfo[],
	companion: Companion,
	first: Slot,
): Statement {
	const own = companion.values.map((_, i) => first + i);
	const selected = returning.map((f) => sql.id(f.key).compile(compiler).sql).join(", ");
	return {
		sql: `with ${COMPANION_ROW} as (${insert.sql}), "authpg_companion" as (${companion.sql(insert.plan.length + 1)}) select ${selected} from ${COMPANION_ROW}`,
		name: "",
		plan: [...insert.plan, ...own],
	};
}

/** `update … set … [where] [returning]`. */
export function buildUpdate(
	ns: string,
	model: ModelInfo,
	fields: readonly FieldInfo[],
	slots: readonly Slot[],
	where: readonly Condition[],
	returning: boolean,
): Statement {
	const set = Object.fromEntries(fields.map((f, i) => [f.column, param(slots[i]!)]));
	let query = compiler.withSchema(ns).updateTable(model.table).set(set);
	const predicate = wherePredicate(model.table, where, param);
	if (predicate) query = query.where(predicate);
	return finish(returning ? query.returning(columns(model.table, model.fields) as never) : query);
}

/** `delete … [where]`. */
export function buildDelete(ns: string, model: ModelInfo, where: readonly Condition[]): Statement {
	let query = compiler.withSchema(ns).deleteFrom(model.table);
	const predicate = wherePredicate(model.table, where, param);
	if (predicate) query = query.where(predicate);
	return finish(query);
}

/**
 * The one row matching `where`, locked: the target of consumeOne and
 * incrementOne. Concurrent callers queue on the row lock and re-check `where`
 * on the latest row version, so a row is consumed once and increments add up.
 *
 * When `where` is one equality on a unique column (the id, `rateLimit.key`),
 * at most one row can match and the plain predicate is the target: the
 * statement's own row lock gives the same guarantee without the sub-select
 * (about a tenth faster on a hot counter). Otherwise `id = (select … limit 1
 * for update)` picks exactly one.
 */
function lockedTarget(ns: string, model: ModelInfo, where: readonly Condition[]) {
	const predicate = wherePredicate(model.table, where, param);
	const only = where.length === 1 ? where[0] : undefined;
	if (
		predicate &&
		only?.operator === "eq" &&
		!only.isNull &&
		!only.insensitive &&
		(only.field === model.id || only.field.attr.unique === true)
	) {
		return predicate;
	}
	let target = compiler.withSchema(ns).selectFrom(model.table).select(sql.id(model.table, model.id.column).as("id"));
	if (predicate) target = target.where(predicate);
	return sql<SqlBool>`${sql.id(model.table, model.id.column)} = (${target.limit(sql.lit(1)).forUpdate()})`;
}

/** `delete … where <the one row> returning …`: one statement (see `lockedTarget`). */
export function buildConsumeOne(ns: string, model: ModelInfo, where: readonly Condition[]): Statement {
	return finish(
		compiler
			.withSchema(ns)
			.deleteFrom(model.table)
			.where(lockedTarget(ns, model, where))
			.returning(columns(model.table, model.fields) as never),
	);
}

/** `update … set f = f + $n, … where <the one row> returning …` (see `lockedTarget`). */
export function buildIncrementOne(
	ns: string,
	model: ModelInfo,
	increments: readonly FieldInfo[],
	incrementSlots: readonly Slot[],
	sets: readonly FieldInfo[],
	setSlots: readonly Slot[],
	where: readonly Condition[],
): Statement {
	const assignments: Record<string, unknown> = {};
	sets.forEach((f, i) => {
		assignments[f.column] = param(setSlots[i]!);
	});
	increments.forEach((f, i) => {
		assignments[f.column] = sql`${sql.id(f.column)} + ${param(incrementSlots[i]!)}`;
	});
	return finish(
		compiler
			.withSchema(ns)
			.updateTable(model.table)
			.set(assignments)
			.where(lockedTarget(ns, model, where))
			.returning(columns(model.table, model.fields) as never),
	);
}
