/**
 * The diff at the heart of the planner: Better Auth's tables for the options
 * against the live schema, step by step — missing tables, columns, foreign
 * keys and indexes become steps; what it must not change by itself becomes a
 * blocker; drift it leaves alone becomes a warning.
 */
import { sql } from "kysely";
import { compiler } from "../compiler.js";
import type { CompiledSchema, FieldInfo, ModelInfo } from "../model.js";
import { storeTables } from "../stores/tables.js";
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
	tablesInOrder,
	uniqueColumnIndex,
} from "./ddl.js";
import { createHistoryStep, HISTORY_TABLE } from "./history.js";
import type { LiveColumn, LiveIndex, LiveSchema, LiveTable } from "./introspect.js";
import type { MigrationBlocker, MigrationPlan, MigrationStep, PlanOptions } from "./plan.js";

/** What the diff asks of the live database beyond the catalog. */
export interface Probe {
	hasRows(table: string): Promise<boolean>;
	/** Up to 20 groups of values of `table.column` equal but for case, each as `A = a`. */
	caseDuplicates(table: string, column: string): Promise<string[]>;
}

/** The plan that brings `live` up to `schema`. */
export async function diff(
	schema: CompiledSchema,
	live: LiveSchema,
	opts: PlanOptions,
	probe: Probe,
): Promise<MigrationPlan> {
	const planner = new Diff(schema, live, opts, probe);
	if (!live.exists) planner.create.push(createSchemaStep(schema));
	for (const model of tablesInOrder(schema)) await planner.model(model);
	planner.stores();
	planner.unknownTables();
	return planner.plan();
}

/** The steps, blockers and warnings of one diff, in the groups the plan orders them by. */
class Diff {
	readonly create: MigrationStep[] = [];
	readonly columns: MigrationStep[] = [];
	readonly foreignKeys: MigrationStep[] = [];
	readonly indexes: MigrationStep[] = [];
	readonly conversions: MigrationStep[] = [];
	readonly blockers: MigrationBlocker[] = [];
	readonly warnings: string[] = [];

	constructor(
		readonly schema: CompiledSchema,
		readonly live: LiveSchema,
		readonly opts: PlanOptions,
		readonly probe: Probe,
	) {}

	/** A Better Auth table: created whole, or diffed column by column; then its indexes. */
	async model(model: ModelInfo): Promise<void> {
		const table = this.live.tables.get(model.table);
		if (!table) this.create.push(createTableStep(this.schema, model));
		else for (const field of model.fields) await this.column(model, table, field);
		if (table) this.unknownColumns(model, table);
		for (const index of indexesOf(this.schema, model)) this.index(index, table);
		if (this.opts.caseInsensitiveIndexes && model.key === "user") await this.lowerIndexes(model, table);
	}

	/** One field of a table that exists. */
	async column(model: ModelInfo, table: LiveTable, field: FieldInfo): Promise<void> {
		const column = table.columns.get(field.column);
		const target = `${model.table}.${field.column}`;
		if (!column) {
			await this.missingColumn(model, table, field, target);
			return;
		}
		if (column.type !== liveType(field)) this.typeChange(model, field, column, target);
		if (field.key !== "id" && field.attr.required !== false && column.nullable) {
			this.warnings.push(`Column "${target}" allows null, but the field is required; existing rows may hold null.`);
		}
		if (field.attr.references && !hasForeignKey(this.live, model, field, this.schema)) {
			this.foreignKeys.push(addForeignKeyStep(this.schema, model, field));
		}
		if (field.attr.unique) this.index(uniqueColumnIndex(model, field), table);
	}

	async missingColumn(model: ModelInfo, table: LiveTable, field: FieldInfo, target: string): Promise<void> {
		const required = field.attr.required !== false && field.key !== "id";
		if (required && !hasColumnDefault(field) && (await this.probe.hasRows(model.table))) {
			this.blockers.push({
				kind: "requiredColumnOnPopulatedTable",
				target,
				message: `Cannot add required column "${field.column}" to "${model.table}", which has rows: there is no value to give them. Add the column as nullable, backfill every row, then set it NOT NULL — or give the field a defaultValue.`,
			});
			return;
		}
		this.columns.push(addColumnStep(this.schema, model, field));
		if (field.attr.unique) this.index(uniqueColumnIndex(model, field), table);
	}

	/** A column of another type: a jsonb array is converted on request; anything else is a blocker. */
	typeChange(model: ModelInfo, field: FieldInfo, column: LiveColumn, target: string): void {
		if ((field.kind === "string[]" || field.kind === "number[]") && column.type === "jsonb") {
			if (this.opts.convertArrays) this.conversions.push(convertArrayColumnStep(this.schema, model, field));
			else
				this.warnings.push(
					`Column "${target}" is a jsonb array (Better Auth's own mapping); it keeps working. Convert it to ${field.pgType} with \`authpg migrate --convert-arrays\`.`,
				);
			return;
		}
		this.blockers.push({
			kind: "typeMismatch",
			target,
			message: `Column "${target}" is ${column.type}, but Better Auth expects ${liveType(field)}. Change the column type yourself (ALTER TABLE … ALTER COLUMN … TYPE … USING …) after checking its data, then migrate again.`,
		});
	}

	unknownColumns(model: ModelInfo, table: LiveTable): void {
		const expected = new Set(model.fields.map((f) => f.column));
		for (const name of table.columns.keys()) {
			if (!expected.has(name))
				this.warnings.push(`Column "${model.table}.${name}" is not part of the Better Auth schema; it is left alone.`);
		}
	}

	/** An index the schema wants on `table` (undefined: a table created by this plan). */
	index(index: IndexDefinition, table: LiveTable | undefined): void {
		const on = this.opts.concurrently ? "concurrently" : "existingTable";
		const found = table ? findIndex(this.live, index) : undefined;
		if (!found) {
			this.indexes.push(createIndexStep(this.schema, index, table ? on : "newTable"));
		} else if (!found.valid) {
			this.indexes.push(dropInvalidIndexStep(this.schema, found.name, this.opts.concurrently === true));
			this.indexes.push(createIndexStep(this.schema, index, on));
		} else if (!sameColumns(found, index) || found.unique !== index.unique) {
			this.blockers.push({
				kind: "indexMismatch",
				target: index.name,
				message: `Index "${index.name}" exists on ${found.table}${describeIndex(found)}${found.unique ? " (unique)" : ""}, but Better Auth expects ${index.table}(${index.expression ?? index.columns.join(", ")})${index.unique ? " (unique)" : ""}. Drop or rename the existing index, then migrate again.`,
			});
		}
	}

	/** {@link PlanOptions.caseInsensitiveIndexes}: a unique one is refused while values differ only in case. */
	async lowerIndexes(user: ModelInfo, table: LiveTable | undefined): Promise<void> {
		for (const index of lowerIndexes(user, this.opts.caseInsensitiveIndexes === "unique")) {
			const column = index.columns[0]!;
			if (index.unique && table?.columns.has(column) && !findIndex(this.live, index)) {
				const groups = await this.probe.caseDuplicates(user.table, column);
				if (groups.length > 0) {
					this.blockers.push({
						kind: "caseInsensitiveDuplicates",
						target: index.name,
						message: `Cannot create the unique index ${index.name} on ${user.table}(${index.expression}): these values differ only in case${groups.length === 20 ? " (first 20 groups)" : ""}: ${groups.join("; ")}. Merge or rename those users, then migrate again.`,
					});
					continue;
				}
			}
			this.index(index, table);
		}
	}

	/** The tables of the authpg stores asked for, when one is missing. */
	stores(): void {
		for (const store of storeTables) {
			if (!this.opts.stores?.includes(store.store) || store.tables.every((t) => this.live.tables.has(t))) continue;
			for (const step of store.create(this.schema.namespace)) {
				(step.kind === "createTable" ? this.create : this.indexes).push(step);
			}
		}
	}

	unknownTables(): void {
		const known = new Set([
			...this.schema.models.map((m) => m.table),
			...storeTables.flatMap((s) => s.tables),
			HISTORY_TABLE,
		]);
		for (const table of this.live.tables.keys()) {
			if (!known.has(table))
				this.warnings.push(`Table "${table}" is not part of the Better Auth schema; it is left alone.`);
		}
	}

	/**
	 * The steps in the order they must run: tables, columns, foreign keys, the
	 * indexes built in the transaction, array conversions, then the indexes
	 * built concurrently after it.
	 */
	plan(): MigrationPlan {
		const { create, columns, foreignKeys, indexes, conversions } = this;
		const changes = create.length + columns.length + foreignKeys.length + indexes.length + conversions.length;
		// The history table comes with the first plan that changes anything: an in-sync database (one Better Auth's own migrator made, say) has nothing pending.
		if (changes > 0 && !this.live.tables.has(HISTORY_TABLE)) {
			create.splice(this.live.exists ? 0 : 1, 0, createHistoryStep(this.schema.namespace));
		}
		return {
			namespace: this.schema.namespace,
			steps: [
				...create,
				...columns,
				...foreignKeys,
				...indexes.filter((s) => !s.concurrently),
				...(conversions.length > 0 ? arrayHelperSteps() : []),
				...conversions,
				...indexes.filter((s) => s.concurrently),
			],
			blockers: this.blockers,
			warnings: this.warnings,
		};
	}
}

const TIMESTAMP = "timestamp with time zone";
const liveType = (field: FieldInfo) => (field.pgType === "timestamptz" ? TIMESTAMP : field.pgType);
/** Whether Postgres itself can fill the column for existing rows (Better Auth's DDL defaults). */
const hasColumnDefault = (field: FieldInfo) => {
	const value = field.attr.defaultValue;
	if (typeof value === "function") return field.kind === "date";
	return value !== undefined && value !== null;
};

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
