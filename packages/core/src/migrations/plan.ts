/**
 * The migration planner: diff the live schema (from `pg_catalog`) against
 * Better Auth's tables for the options, and produce a typed plan — ordered
 * steps with their SQL and safety class, blockers (unsafe changes it refuses)
 * and warnings (drift it reports but leaves alone). Applying is `migrate.ts`.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import { sql } from "kysely";
import { compiler } from "../compiler.js";
import type { Driver } from "../driver/contract.js";
import { compileSchema, type SchemaOptions } from "../model.js";
import { type StoreName, storesIn } from "../stores/tables.js";
import type { SchemaStep } from "./ddl.js";
import { diff, type Probe } from "./diff.js";
import { introspect, type LiveSchema } from "./introspect.js";

/** A step of a {@link MigrationPlan}. */
export type MigrationStep = SchemaStep;

/** A change the planner refuses to make by itself, and what to do instead. */
export interface MigrationBlocker {
	readonly kind: "requiredColumnOnPopulatedTable" | "typeMismatch" | "indexMismatch" | "caseInsensitiveDuplicates";
	readonly target: string;
	readonly message: string;
}

/** What it takes to bring the database up to the Better Auth schema. */
export interface MigrationPlan {
	readonly namespace: string;
	readonly steps: readonly MigrationStep[];
	readonly blockers: readonly MigrationBlocker[];
	readonly warnings: readonly string[];
}

/** Options of {@link planMigrations}. */
export interface PlanOptions extends SchemaOptions {
	/** Build indexes on existing tables with `CREATE INDEX CONCURRENTLY`, after the transaction. */
	concurrently?: boolean;
	/** Convert jsonb array columns (Better Auth's own mapping) to native `text[]`/`bigint[]`. */
	convertArrays?: boolean;
	/**
	 * authpg stores whose tables to create. Default: the ones plugged into the
	 * options (`stores.applyTo` marks them).
	 */
	stores?: readonly StoreName[];
	/**
	 * Create `lower(…)` expression indexes on the user's email (and the
	 * username plugin's username), the expression the adapter's
	 * `mode: "insensitive"` SQL uses. `"unique"` makes the email one unique:
	 * refused (a blocker listing them) while emails that differ only in case exist.
	 * Default false.
	 */
	caseInsensitiveIndexes?: boolean | "unique";
}

/** Plan the changes that bring `driver`'s database up to the Better Auth schema for `options`. */
export async function planMigrations(
	driver: Driver,
	options: BetterAuthOptions,
	planOptions: PlanOptions = {},
): Promise<MigrationPlan> {
	const schema = compileSchema(options, planOptions);
	const live = await introspect(driver, schema.namespace);
	return diff(
		schema,
		live,
		{ ...planOptions, stores: planOptions.stores ?? storesIn(options) },
		probeOf(driver, schema.namespace),
	);
}

/**
 * The plan for a database that holds nothing yet: the whole schema, in the
 * order `applyMigrations` would create it. Needs no connection (`authpg
 * generate`, Better Auth's `createSchema`).
 */
export function planFresh(options: BetterAuthOptions, planOptions: PlanOptions = {}): Promise<MigrationPlan> {
	const schema = compileSchema(options, planOptions);
	const empty: LiveSchema = {
		namespace: schema.namespace,
		exists: schema.namespace === "public",
		tables: new Map(),
		indexes: new Map(),
		foreignKeys: [],
	};
	return diff(
		schema,
		empty,
		{ ...planOptions, stores: planOptions.stores ?? storesIn(options) },
		{
			hasRows: async () => false,
			caseDuplicates: async () => [],
		},
	);
}

/** A plan's steps as one SQL script. */
export function planSql(plan: MigrationPlan): string {
	return `${plan.steps.map((step) => `${step.sql};`).join("\n\n")}\n`;
}

/** What the planner asks of the live database beyond the catalog. */
export function probeOf(driver: Driver, namespace: string): Probe {
	return {
		hasRows: (table: string) => tableHasRows(driver, namespace, table),
		caseDuplicates: (table: string, column: string) => caseDuplicates(driver, namespace, table, column),
	};
}

async function tableHasRows(driver: Driver, namespace: string, table: string): Promise<boolean> {
	const query = sql`select exists (select 1 from ${sql.id(namespace, table)}) as "rows"`.compile(compiler);
	const { rows } = await driver.query<{ rows: boolean }>(query.sql, []);
	return rows[0]?.rows === true;
}

/** Up to 20 groups of values of `table.column` equal but for case, each as `A = a`. */
async function caseDuplicates(driver: Driver, namespace: string, table: string, column: string): Promise<string[]> {
	const col = sql.id(column);
	// string_agg, not array_agg: some drivers return arrays as unparsed text.
	const query = sql`select string_agg(${col}, ' = ' order by ${col}) as "values" from ${sql.id(namespace, table)}
		where ${col} is not null group by lower(${col}) having count(*) > 1 order by lower(${col}) limit 20`.compile(
		compiler,
	);
	const { rows } = await driver.query<{ values: string }>(query.sql, []);
	return rows.map((r) => r.values);
}
