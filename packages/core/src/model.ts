/**
 * Everything Better Auth's adapter factory decides per call, decided once per
 * options: table and column names, id kind, Postgres types, defaults, and
 * which fields need conversion on the way in or out.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import type { BetterAuthDBSchema, DBFieldAttribute } from "@better-auth/core/db";
import { getAuthTables } from "@better-auth/core/db";
import { UnknownFieldError, UnknownModelError } from "./errors.js";

/** How ids are generated: Better Auth's `advanced.database.generateId`. */
export type IdKind = "string" | "uuid" | "serial";

/** The logical type of a field, as the core converts it. */
export type FieldKind = "string" | "number" | "bigint" | "boolean" | "date" | "json" | "string[]" | "number[]";

/** One column of a model. */
export interface FieldInfo {
	/** Better Auth's field key (what callers and results use). */
	readonly key: string;
	/** The Postgres column name (custom `fieldName` applied). */
	readonly column: string;
	readonly kind: FieldKind;
	/** Postgres type as Better Auth's Postgres mapping, arrays native. */
	readonly pgType: string;
	/** `id`, or a foreign key to an `id`: follows the id kind. */
	readonly isId: boolean;
	readonly attr: DBFieldAttribute;
}

/** One table. */
export interface ModelInfo {
	/** Schema key (`user`, `session`, ...). */
	readonly key: string;
	/** Postgres table name (custom `modelName`, `usePlural` applied). */
	readonly table: string;
	/** Every field, `id` first. */
	readonly fields: readonly FieldInfo[];
	readonly id: FieldInfo;
	/** True when any field has an output transform (slow path). */
	readonly hasOutputTransform: boolean;
	/** `string[]`/`number[]` fields: native arrays, or jsonb in a database Better Auth's migrator made. */
	readonly arrayFields: readonly FieldInfo[];
	/** Look a field up by key, or by column name as Better Auth does. */
	field(name: string): FieldInfo;
}

/** The compiled view of Better Auth's tables for one set of options. */
export interface CompiledSchema {
	/** Postgres namespace (`public` by default). */
	readonly namespace: string;
	readonly idKind: IdKind;
	readonly usePlural: boolean;
	readonly tables: BetterAuthDBSchema;
	readonly models: readonly ModelInfo[];
	/** Default `findMany` limit (`advanced.database.defaultFindManyLimit`). */
	readonly defaultLimit: number;
	/** Resolve a schema key, custom model name or plural table name. */
	model(name: string): ModelInfo;
	/** A string that identifies the shape of the schema, for statement caches. */
	readonly fingerprint: string;
}

/** Options shared by every entry point that compiles the schema. */
export interface SchemaOptions {
	/** Postgres schema (namespace) holding the tables. Default `public`. */
	schema?: string;
	/** Table names get an `s`, as Better Auth's `usePlural`. */
	usePlural?: boolean;
}

export function idKindOf(options: BetterAuthOptions): IdKind {
	const generateId = options.advanced?.database?.generateId;
	if (generateId === "serial") return "serial";
	if (generateId === "uuid") return "uuid";
	return "string";
}

function kindOf(attr: DBFieldAttribute): FieldKind {
	const type = attr.type;
	if (Array.isArray(type)) return "string"; // enum of literals: stored as text
	switch (type) {
		case "number":
			return attr.bigint ? "bigint" : "number";
		case "string":
		case "boolean":
		case "date":
		case "json":
		case "string[]":
		case "number[]":
			return type;
		default:
			throw new Error(`Unsupported Better Auth field type "${String(type)}"`);
	}
}

function pgTypeOf(kind: FieldKind, isId: boolean, idKind: IdKind): string {
	if (isId) return idKind === "serial" ? "integer" : idKind === "uuid" ? "uuid" : "text";
	switch (kind) {
		case "string":
			return "text";
		case "number":
			return "integer";
		case "bigint":
			return "bigint";
		case "boolean":
			return "boolean";
		case "date":
			return "timestamptz";
		case "json":
			return "jsonb";
		case "string[]":
			return "text[]";
		case "number[]":
			return "bigint[]";
	}
}

const compiled = new WeakMap<BetterAuthOptions, Map<string, CompiledSchema>>();

/**
 * Compile Better Auth's tables for `options`. Cached per options object, so
 * Better Auth (which builds its adapter once) and the test harness (which
 * rebuilds it often) both pay once.
 */
export function compileSchema(options: BetterAuthOptions, schemaOptions: SchemaOptions = {}): CompiledSchema {
	const namespace = schemaOptions.schema ?? "public";
	const usePlural = schemaOptions.usePlural ?? false;
	const cacheKey = `${namespace}\0${usePlural}`;
	let perOptions = compiled.get(options);
	const hit = perOptions?.get(cacheKey);
	if (hit) return hit;

	const tables = getAuthTables(options);
	const idKind = idKindOf(options);
	const models: ModelInfo[] = [];
	const byName = new Map<string, ModelInfo>();
	for (const [key, table] of Object.entries(tables)) {
		const model = compileModel(key, table, idKind, usePlural);
		models.push(model);
	}
	// Resolution order mirrors Better Auth's getDefaultModelName: an exact
	// schema key wins over a custom modelName.
	for (const model of models) byName.set(model.key, model);
	for (const model of models) {
		const modelName = tables[model.key]!.modelName;
		if (!byName.has(modelName)) byName.set(modelName, model);
	}
	const model = (name: string): ModelInfo => {
		if (usePlural && name.endsWith("s")) {
			const singular = byName.get(name.slice(0, -1));
			if (singular) return singular;
		}
		const found = byName.get(name);
		if (!found) throw new UnknownModelError(name);
		return found;
	};
	const fingerprint = JSON.stringify([
		namespace,
		idKind,
		models.map((m) => [m.table, m.fields.map((f) => [f.key, f.column, f.pgType])]),
	]);
	const result: CompiledSchema = {
		namespace,
		idKind,
		usePlural,
		tables,
		models,
		defaultLimit: options.advanced?.database?.defaultFindManyLimit ?? 100,
		model,
		fingerprint,
	};
	if (!perOptions) {
		perOptions = new Map();
		compiled.set(options, perOptions);
	}
	perOptions.set(cacheKey, result);
	return result;
}

function compileModel(key: string, table: BetterAuthDBSchema[string], idKind: IdKind, usePlural: boolean): ModelInfo {
	const id: FieldInfo = {
		key: "id",
		column: "id",
		kind: idKind === "serial" ? "number" : "string",
		pgType: pgTypeOf("string", true, idKind),
		isId: true,
		attr: { type: idKind === "serial" ? "number" : "string", required: true },
	};
	const fields: FieldInfo[] = [id];
	for (const [fieldKey, attr] of Object.entries(table.fields)) {
		if (fieldKey === "id") continue;
		const isId = attr.references?.field === "id";
		const kind = kindOf(attr);
		fields.push({
			key: fieldKey,
			column: attr.fieldName || fieldKey,
			kind,
			pgType: pgTypeOf(kind, isId, idKind),
			isId,
			attr,
		});
	}
	return modelOf(key, usePlural ? `${table.modelName}s` : table.modelName, fields);
}

function modelOf(key: string, table: string, fields: FieldInfo[]): ModelInfo {
	const lookup = new Map<string, FieldInfo>();
	for (const f of fields) lookup.set(f.key, f);
	for (const f of fields) if (!lookup.has(f.column)) lookup.set(f.column, f);
	lookup.set("_id", fields[0]!);
	return {
		key,
		table,
		fields,
		id: fields[0]!,
		hasOutputTransform: fields.some((f) => f.attr.transform?.output),
		arrayFields: fields.filter((f) => f.kind === "string[]" || f.kind === "number[]"),
		field(name: string): FieldInfo {
			const found = lookup.get(name);
			if (!found) throw new UnknownFieldError(key, name);
			return found;
		},
	};
}

/**
 * The same model with the given array columns stored as jsonb (Better Auth's
 * own Postgres mapping): values are then bound as JSON text and come back
 * parsed, so an adopted database keeps working until it is converted.
 */
export function withJsonbArrays(model: ModelInfo, columns: ReadonlySet<string>): ModelInfo {
	const fields = model.fields.map((f) =>
		columns.has(f.column) && model.arrayFields.includes(f) ? { ...f, kind: "json" as const, pgType: "jsonb" } : f,
	);
	return modelOf(model.key, model.table, fields);
}
