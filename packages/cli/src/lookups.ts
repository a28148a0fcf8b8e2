/**
 * The columns Better Auth finds rows by, for core tables and every enabled
 * plugin alike, read from the schema Better Auth builds for the config (not a
 * list kept here): fields it marks `index` or `unique`, and the leading
 * column of the indexes a table declares. Fields that only reference another
 * table are kept apart: Postgres checks those on every delete of the row
 * they reference, but Better Auth does not look rows up by them.
 */
import type { CompiledSchema, LiveIndex, LiveSchema } from "@authpg/core";
import { getDatabaseFieldIndexName, resolveDatabaseTableIndexes } from "@better-auth/core/db/internal";

/** One column rows are found by. */
export interface LookupColumn {
	/** Better Auth's model key (`member`, `twoFactor`, …). */
	readonly model: string;
	readonly table: string;
	readonly column: string;
	/** `lookup`: Better Auth filters by it; `reference`: only a foreign key to `references`. */
	readonly use: "lookup" | "reference";
	/** The referenced table, for a foreign key column. */
	readonly references?: string;
	/** The index names Better Auth's planner gives this column (unique or not). */
	readonly indexNames: readonly string[];
}

/** Every lookup and foreign-key column of `schema`, in model order. */
export function lookupColumns(schema: CompiledSchema): LookupColumn[] {
	const columns: LookupColumn[] = [];
	for (const model of schema.models) {
		const declared = new Set<string>();
		const table = schema.tables[model.key];
		for (const index of resolveDatabaseTableIndexes({
			fields: table?.fields ?? {},
			indexes: table?.indexes,
			tableName: model.table,
		})) {
			if (index.columns[0]) declared.add(index.columns[0]);
		}
		for (const field of model.fields) {
			if (field.key === "id") continue;
			const lookup = field.attr.index === true || field.attr.unique === true || declared.has(field.column);
			const ref = field.attr.references;
			if (!lookup && !ref) continue;
			columns.push({
				model: model.key,
				table: model.table,
				column: field.column,
				use: lookup ? "lookup" : "reference",
				references: ref ? schema.model(ref.model).table : undefined,
				indexNames: [
					getDatabaseFieldIndexName(model.table, field.column, false),
					getDatabaseFieldIndexName(model.table, field.column, true),
				],
			});
		}
	}
	return columns;
}

/** Whether a valid, whole-table index on `table` starts with `column` (so equality lookups on it use an index). */
function served(live: LiveSchema, table: string, column: string): boolean {
	const usable = (index: LiveIndex) => index.table === table && index.valid && !index.partial;
	return [...live.indexes.values()].some((index) => usable(index) && index.columns[0] === column);
}

/** The columns of `schema` that exist in `live` but that no usable index serves. */
export function unindexedColumns(schema: CompiledSchema, live: LiveSchema): LookupColumn[] {
	return lookupColumns(schema).filter(
		(c) => live.tables.get(c.table)?.columns.has(c.column) === true && !served(live, c.table, c.column),
	);
}
