/**
 * Bring a database up to Better Auth's schema by adding what is missing:
 * the schema, tables, columns and indexes. Introspects `pg_catalog`, never
 * drops or rewrites anything; columns whose type differs are reported.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import type { Driver } from "./driver.js";
import { AuthpgError } from "./errors.js";
import { type CompiledSchema, compileSchema, type SchemaOptions } from "./model.js";
import {
	addColumnStep,
	createIndexStep,
	createSchemaStep,
	createTableStep,
	indexesOf,
	type SchemaStep,
	tablesInOrder,
	uniqueColumnIndex,
} from "./schema.js";

/** A column of the live database. */
export interface LiveColumn {
	readonly type: string;
	readonly nullable: boolean;
}

/** What `pg_catalog` says about one Postgres schema. */
export interface LiveSchema {
	readonly exists: boolean;
	/** table → column → definition */
	readonly tables: ReadonlyMap<string, ReadonlyMap<string, LiveColumn>>;
	readonly indexes: ReadonlySet<string>;
}

/** A difference the planner will not resolve by itself. */
export interface SchemaConflict {
	readonly table: string;
	readonly column: string;
	readonly expected: string;
	readonly found: string;
}

/** What it takes to bring the database up to the Better Auth schema. */
export interface MigrationPlan {
	readonly steps: readonly SchemaStep[];
	readonly conflicts: readonly SchemaConflict[];
}

/** Read tables, columns and index names of `namespace` from `pg_catalog`. */
export async function introspect(driver: Driver, namespace: string): Promise<LiveSchema> {
	const [ns, columns, indexes] = await Promise.all([
		driver.query("select 1 from pg_catalog.pg_namespace where nspname = $1", [namespace]),
		driver.query<{ table: string; column: string; type: string; nullable: boolean }>(
			`select c.relname as "table", a.attname as "column",
			        pg_catalog.format_type(a.atttypid, a.atttypmod) as "type", not a.attnotnull as "nullable"
			   from pg_catalog.pg_class c
			   join pg_catalog.pg_namespace n on n.oid = c.relnamespace
			   join pg_catalog.pg_attribute a on a.attrelid = c.oid
			  where n.nspname = $1 and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped`,
			[namespace],
		),
		driver.query<{ name: string }>(
			`select c.relname as "name" from pg_catalog.pg_class c
			   join pg_catalog.pg_namespace n on n.oid = c.relnamespace
			  where n.nspname = $1 and c.relkind = 'i'`,
			[namespace],
		),
	]);
	const tables = new Map<string, Map<string, LiveColumn>>();
	for (const row of columns.rows) {
		let table = tables.get(row.table);
		if (!table) {
			table = new Map();
			tables.set(row.table, table);
		}
		table.set(row.column, { type: row.type, nullable: row.nullable });
	}
	return { exists: ns.rowCount > 0, tables, indexes: new Set(indexes.rows.map((r) => r.name)) };
}

const sameType = (expected: string, found: string) =>
	found === (expected === "timestamptz" ? "timestamp with time zone" : expected);

/** Diff `live` against the Better Auth schema: the missing parts, in order. */
export function planAdditions(schema: CompiledSchema, live: LiveSchema): MigrationPlan {
	const steps: SchemaStep[] = [];
	const indexSteps: SchemaStep[] = [];
	const conflicts: SchemaConflict[] = [];
	if (!live.exists) steps.push(createSchemaStep(schema));
	for (const model of tablesInOrder(schema)) {
		const columns = live.tables.get(model.table);
		if (!columns) {
			steps.push(createTableStep(schema, model));
		} else {
			for (const field of model.fields) {
				const column = columns.get(field.column);
				if (!column) {
					steps.push(addColumnStep(schema, model, field));
					if (field.attr.unique) indexSteps.push(createIndexStep(schema, uniqueColumnIndex(model, field)));
				} else if (!sameType(field.pgType, column.type)) {
					conflicts.push({ table: model.table, column: field.column, expected: field.pgType, found: column.type });
				}
			}
		}
		for (const index of indexesOf(schema, model)) {
			if (!live.indexes.has(index.name)) indexSteps.push(createIndexStep(schema, index));
		}
	}
	return { steps: [...steps, ...indexSteps], conflicts };
}

/** Thrown when a migration step fails; names the step and its SQL. */
export class MigrationError extends AuthpgError {
	constructor(
		readonly step: SchemaStep,
		cause: unknown,
	) {
		super(
			"MIGRATION_FAILED",
			`Migration step ${step.kind} ${step.target} failed, and every step was rolled back: ${cause instanceof Error ? cause.message : String(cause)}\n  SQL: ${step.sql}`,
			{ cause },
		);
	}
}

/**
 * Plan and apply the missing parts of the Better Auth schema in one
 * transaction. Returns the plan that was applied.
 */
export async function migrate(
	driver: Driver,
	options: BetterAuthOptions,
	schemaOptions: SchemaOptions = {},
): Promise<MigrationPlan> {
	const schema = compileSchema(options, schemaOptions);
	const apply = async (tx: Driver) => {
		const plan = planAdditions(schema, await introspect(tx, schema.namespace));
		for (const step of plan.steps) {
			try {
				await tx.query(step.sql, []);
			} catch (error) {
				throw new MigrationError(step, error);
			}
		}
		return plan;
	};
	return driver.capabilities.transactions ? driver.transaction(apply) : apply(driver);
}
