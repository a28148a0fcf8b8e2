/**
 * The migration planner: diff the live schema (from `pg_catalog`) against
 * Better Auth's tables for the options, and produce a typed plan — ordered
 * steps with their SQL and safety class, blockers (unsafe changes it refuses)
 * and warnings (drift it reports but leaves alone). Applying is `migrate.ts`.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import { sql } from "kysely";
import { compiler } from "../adapter/statements.js";
import type { Driver } from "../driver/contract.js";
import { createHistoryStep, HISTORY_TABLE } from "./history.js";
import { introspect, type LiveIndex, type LiveSchema, type LiveTable } from "./introspect.js";
import { type CompiledSchema, compileSchema, type FieldInfo, type ModelInfo, type SchemaOptions } from "../model.js";
import {
	addColumnStep,
	addForeignKeyStep,
	arrayHelperSteps,
	convertArrayColumnStep,
	createIndexStep,
	createSchemaStep,
	createTableStep,
	dropInvalidIndexStep,
	type IndexDefinition,
	indexesOf,
	type SchemaStep,
	tablesInOrder,
	uniqueColumnIndex,
} from "./ddl.js";
import { type StoreName, storesIn, storeTables } from "../stores/tables.js";

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

const TIMESTAMP = "timestamp with time zone";
const liveType = (field: FieldInfo) => (field.pgType === "timestamptz" ? TIMESTAMP : field.pgType);
/** Whether Postgres itself can fill the column for existing rows (Better Auth's DDL defaults). */
const hasColumnDefault = (field: FieldInfo) => {
	const value = field.attr.defaultValue;
	if (typeof value === "function") return field.kind === "date";
	return value !== undefined && value !== null;
};

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
export function probeOf(driver: Driver, namespace: string) {
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

// pg_get_expr quotes only names that need it; compare without quotes.
const sameExpression = (live: string | null, wanted: string) => live?.replace(/"/g, "") === wanted.replace(/"/g, "");
const sameColumns = (index: LiveIndex, wanted: IndexDefinition) =>
	wanted.expression
		? index.columns.length === 1 && index.columns[0] === null && sameExpression(index.expression, wanted.expression)
		: index.columns.length === wanted.columns.length && index.columns.every((c, i) => c === wanted.columns[i]);
const describeIndex = (index: LiveIndex) => `(${index.columns.map((c) => c ?? index.expression).join(", ")})`;

/** The `lower(…)` indexes of {@link PlanOptions.caseInsensitiveIndexes} for the user model. */
function lowerIndexes(user: ModelInfo, unique: boolean): IndexDefinition[] {
	const result: IndexDefinition[] = [];
	for (const key of ["email", "username"]) {
		const field = user.fields.find((f) => f.key === key);
		if (field?.kind !== "string") continue;
		const isUnique = unique && key === "email";
		result.push({
			name: `${user.table}_${field.column}_lower_${isUnique ? "uidx" : "idx"}`,
			table: user.table,
			columns: [field.column],
			unique: isUnique,
			expression: sql`lower(${sql.id(field.column)})`.compile(compiler).sql,
		});
	}
	return result;
}

/** The live index that serves `wanted`: by name, else any valid, non-partial index on the same columns. */
function findIndex(live: LiveSchema, wanted: IndexDefinition): LiveIndex | undefined {
	const byName = live.indexes.get(wanted.name);
	if (byName) return byName;
	for (const index of live.indexes.values()) {
		if (index.table === wanted.table && index.valid && !index.partial && sameColumns(index, wanted)) {
			if (index.unique || !wanted.unique) return index;
		}
	}
	return undefined;
}

export async function diff(
	schema: CompiledSchema,
	live: LiveSchema,
	opts: PlanOptions,
	probe: {
		hasRows: (table: string) => Promise<boolean>;
		caseDuplicates: (table: string, column: string) => Promise<string[]>;
	},
): Promise<MigrationPlan> {
	const { hasRows } = probe;
	const create: MigrationStep[] = [];
	const columns: MigrationStep[] = [];
	const foreignKeys: MigrationStep[] = [];
	const indexes: MigrationStep[] = [];
	const conversions: MigrationStep[] = [];
	const blockers: MigrationBlocker[] = [];
	const warnings: string[] = [];
	if (!live.exists) create.push(createSchemaStep(schema));

	const indexOn = opts.concurrently ? "concurrently" : "existingTable";
	const wantIndex = (index: IndexDefinition, table: LiveTable | undefined) => {
		const found = table ? findIndex(live, index) : undefined;
		if (!found) {
			indexes.push(createIndexStep(schema, index, table ? indexOn : "newTable"));
		} else if (!found.valid) {
			indexes.push(dropInvalidIndexStep(schema, found.name, opts.concurrently === true));
			indexes.push(createIndexStep(schema, index, indexOn));
		} else if (!sameColumns(found, index) || found.unique !== index.unique) {
			blockers.push({
				kind: "indexMismatch",
				target: index.name,
				message: `Index "${index.name}" exists on ${found.table}${describeIndex(found)}${found.unique ? " (unique)" : ""}, but Better Auth expects ${index.table}(${index.expression ?? index.columns.join(", ")})${index.unique ? " (unique)" : ""}. Drop or rename the existing index, then migrate again.`,
			});
		}
	};

	const models = tablesInOrder(schema);
	for (const model of models) {
		const table = live.tables.get(model.table);
		if (!table) {
			create.push(createTableStep(schema, model));
		} else {
			await diffTable(model, table);
		}
		for (const index of indexesOf(schema, model)) wantIndex(index, table);
		if (opts.caseInsensitiveIndexes && model.key === "user") {
			for (const index of lowerIndexes(model, opts.caseInsensitiveIndexes === "unique")) {
				if (index.unique && table?.columns.has(index.columns[0]!) && !findIndex(live, index)) {
					const groups = await probe.caseDuplicates(model.table, index.columns[0]!);
					if (groups.length > 0) {
						blockers.push({
							kind: "caseInsensitiveDuplicates",
							target: index.name,
							message: `Cannot create the unique index ${index.name} on ${model.table}(${index.expression}): these values differ only in case${groups.length === 20 ? " (first 20 groups)" : ""}: ${groups.join("; ")}. Merge or rename those users, then migrate again.`,
						});
						continue;
					}
				}
				wantIndex(index, table);
			}
		}
	}
	for (const store of storeTables) {
		if (!opts.stores?.includes(store.store) || store.tables.every((t) => live.tables.has(t))) continue;
		for (const step of store.create(schema.namespace)) (step.kind === "createTable" ? create : indexes).push(step);
	}
	const known = new Set([...models.map((m) => m.table), ...storeTables.flatMap((s) => s.tables), HISTORY_TABLE]);
	for (const table of live.tables.keys()) {
		if (!known.has(table)) warnings.push(`Table "${table}" is not part of the Better Auth schema; it is left alone.`);
	}

	async function diffTable(model: ModelInfo, table: LiveTable) {
		for (const field of model.fields) {
			const column = table.columns.get(field.column);
			const target = `${model.table}.${field.column}`;
			if (!column) {
				const required = field.attr.required !== false && field.key !== "id";
				if (required && !hasColumnDefault(field) && (await hasRows(model.table))) {
					blockers.push({
						kind: "requiredColumnOnPopulatedTable",
						target,
						message: `Cannot add required column "${field.column}" to "${model.table}", which has rows: there is no value to give them. Add the column as nullable, backfill every row, then set it NOT NULL — or give the field a defaultValue.`,
					});
					continue;
				}
				columns.push(addColumnStep(schema, model, field));
				if (field.attr.unique) wantIndex(uniqueColumnIndex(model, field), table);
				continue;
			}
			if (column.type !== liveType(field)) {
				if ((field.kind === "string[]" || field.kind === "number[]") && column.type === "jsonb") {
					if (opts.convertArrays) conversions.push(convertArrayColumnStep(schema, model, field));
					else
						warnings.push(
							`Column "${target}" is a jsonb array (Better Auth's own mapping); it keeps working. Convert it to ${field.pgType} with \`authpg migrate --convert-arrays\`.`,
						);
				} else {
					blockers.push({
						kind: "typeMismatch",
						target,
						message: `Column "${target}" is ${column.type}, but Better Auth expects ${liveType(field)}. Change the column type yourself (ALTER TABLE … ALTER COLUMN … TYPE … USING …) after checking its data, then migrate again.`,
					});
				}
			}
			if (field.key !== "id" && field.attr.required !== false && column.nullable) {
				warnings.push(`Column "${target}" allows null, but the field is required; existing rows may hold null.`);
			}
			if (field.attr.references && !hasForeignKey(live, model, field, schema)) {
				foreignKeys.push(addForeignKeyStep(schema, model, field));
			}
			if (field.attr.unique) wantIndex(uniqueColumnIndex(model, field), table);
		}
		const expected = new Set(model.fields.map((f) => f.column));
		for (const name of table.columns.keys()) {
			if (!expected.has(name))
				warnings.push(`Column "${model.table}.${name}" is not part of the Better Auth schema; it is left alone.`);
		}
	}

	const helpers = conversions.length > 0 ? arrayHelperSteps() : [];
	const changes = create.length + columns.length + foreignKeys.length + indexes.length + conversions.length;
	// The history table comes with the first plan that changes anything: an in-sync database (one Better Auth's own migrator made, say) has nothing pending.
	if (changes > 0 && !live.tables.has(HISTORY_TABLE))
		create.splice(live.exists ? 0 : 1, 0, createHistoryStep(schema.namespace));
	return {
		namespace: schema.namespace,
		steps: [
			...create,
			...columns,
			...foreignKeys,
			...indexes.filter((s) => !s.concurrently),
			...helpers,
			...conversions,
			...indexes.filter((s) => s.concurrently),
		],
		blockers,
		warnings,
	};
}

function hasForeignKey(live: LiveSchema, model: ModelInfo, field: FieldInfo, schema: CompiledSchema): boolean {
	const target = schema.model(field.attr.references!.model);
	return live.foreignKeys.some(
		(fk) =>
			fk.table === model.table &&
			fk.columns.length === 1 &&
			fk.columns[0] === field.column &&
			fk.refTable === target.table &&
			fk.refSchema === schema.namespace,
	);
}
