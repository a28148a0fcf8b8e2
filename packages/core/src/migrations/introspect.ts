/**
 * What `pg_catalog` says about one Postgres schema: tables, columns (type,
 * nullability, default), indexes and unique/primary constraints (with their
 * columns, uniqueness and validity), and foreign keys with their ON DELETE
 * rule. Read in a handful of statements, the same on every driver.
 */
import type { Driver } from "../driver/contract.js";

export interface LiveColumn {
	readonly name: string;
	/** `format_type` spelling: `text`, `timestamp with time zone`, `text[]`, … */
	readonly type: string;
	readonly nullable: boolean;
	/** The default expression, or null. */
	readonly default: string | null;
	readonly identity: boolean;
}

export interface LiveTable {
	readonly name: string;
	readonly columns: ReadonlyMap<string, LiveColumn>;
}

export interface LiveIndex {
	readonly name: string;
	readonly table: string;
	/** Column names in order; `null` for an expression. */
	readonly columns: readonly (string | null)[];
	readonly unique: boolean;
	readonly primary: boolean;
	/** False for a leftover of a failed `CREATE INDEX CONCURRENTLY`. */
	readonly valid: boolean;
	readonly partial: boolean;
	/** `pg_get_expr` of the index expressions (`lower(email)`), or null. */
	readonly expression: string | null;
}

export type OnDelete = "no action" | "restrict" | "cascade" | "set null" | "set default";

export interface LiveForeignKey {
	readonly name: string;
	readonly table: string;
	readonly columns: readonly string[];
	readonly refSchema: string;
	readonly refTable: string;
	readonly refColumns: readonly string[];
	readonly onDelete: OnDelete;
}

export interface LiveSchema {
	readonly namespace: string;
	readonly exists: boolean;
	readonly tables: ReadonlyMap<string, LiveTable>;
	readonly indexes: ReadonlyMap<string, LiveIndex>;
	readonly foreignKeys: readonly LiveForeignKey[];
}

const ON_DELETE: Record<string, OnDelete> = {
	a: "no action",
	r: "restrict",
	c: "cascade",
	n: "set null",
	d: "set default",
};

/** Read `namespace` from `pg_catalog`. Run it inside a transaction for a consistent view. */
export async function introspect(driver: Driver, namespace: string): Promise<LiveSchema> {
	const ns = await driver.query("select 1 from pg_catalog.pg_namespace where nspname = $1", [namespace]);
	const columns = await driver.query<{
		table: string;
		column: string;
		type: string;
		nullable: boolean;
		default: string | null;
		identity: string;
	}>(
		`select c.relname as "table", a.attname as "column", pg_catalog.format_type(a.atttypid, a.atttypmod) as "type",
		        not a.attnotnull as "nullable", pg_catalog.pg_get_expr(d.adbin, d.adrelid) as "default",
		        a.attidentity::text as "identity"
		   from pg_catalog.pg_class c
		   join pg_catalog.pg_namespace n on n.oid = c.relnamespace
		   join pg_catalog.pg_attribute a on a.attrelid = c.oid
		   left join pg_catalog.pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
		  where n.nspname = $1 and c.relkind in ('r', 'p') and not c.relispartition and a.attnum > 0 and not a.attisdropped
		  order by c.relname, a.attnum`,
		[namespace],
	);
	const indexes = await driver.query<{
		name: string;
		table: string;
		columns: (string | null)[];
		unique: boolean;
		primary: boolean;
		valid: boolean;
		partial: boolean;
		expression: string | null;
	}>(
		`select ic.relname as "name", tc.relname as "table",
		        array(select a.attname from unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
		                left join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum and k.attnum > 0
		               order by k.ord)::text[] as "columns",
		        i.indisunique as "unique", i.indisprimary as "primary", i.indisvalid as "valid",
		        i.indpred is not null as "partial", pg_catalog.pg_get_expr(i.indexprs, i.indrelid) as "expression"
		   from pg_catalog.pg_index i
		   join pg_catalog.pg_class ic on ic.oid = i.indexrelid
		   join pg_catalog.pg_class tc on tc.oid = i.indrelid
		   join pg_catalog.pg_namespace n on n.oid = tc.relnamespace
		  where n.nspname = $1`,
		[namespace],
	);
	const foreignKeys = await driver.query<{
		name: string;
		table: string;
		columns: string[];
		refSchema: string;
		refTable: string;
		refColumns: string[];
		onDelete: string;
	}>(
		`select con.conname as "name", tc.relname as "table",
		        array(select a.attname from unnest(con.conkey) with ordinality as k(attnum, ord)
		                join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.ord)::text[] as "columns",
		        rn.nspname as "refSchema", rc.relname as "refTable",
		        array(select a.attname from unnest(con.confkey) with ordinality as k(attnum, ord)
		                join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum order by k.ord)::text[] as "refColumns",
		        con.confdeltype::text as "onDelete"
		   from pg_catalog.pg_constraint con
		   join pg_catalog.pg_class tc on tc.oid = con.conrelid
		   join pg_catalog.pg_namespace n on n.oid = tc.relnamespace
		   join pg_catalog.pg_class rc on rc.oid = con.confrelid
		   join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
		  where n.nspname = $1 and con.contype = 'f'`,
		[namespace],
	);

	const tables = new Map<string, { name: string; columns: Map<string, LiveColumn> }>();
	for (const row of columns.rows) {
		let table = tables.get(row.table);
		if (!table) {
			table = { name: row.table, columns: new Map() };
			tables.set(row.table, table);
		}
		table.columns.set(row.column, {
			name: row.column,
			type: row.type,
			nullable: row.nullable,
			default: row.default,
			identity: row.identity !== "",
		});
	}
	return {
		namespace,
		exists: ns.rowCount > 0,
		tables,
		indexes: new Map(indexes.rows.map((i) => [i.name, { ...i, columns: pgArray(i.columns) }])),
		foreignKeys: foreignKeys.rows.map((f) => ({
			...f,
			columns: pgArray(f.columns) as string[],
			refColumns: pgArray(f.refColumns) as string[],
			onDelete: ON_DELETE[f.onDelete] ?? "no action",
		})),
	};
}

/** `name[]` arrays arrive parsed from most drivers, as `{a,b}` text from some. */
function pgArray(value: unknown): (string | null)[] {
	if (Array.isArray(value)) return value as (string | null)[];
	if (typeof value !== "string") return [];
	const inner = value.replace(/^\{|\}$/g, "");
	if (inner === "") return [];
	return inner.split(",").map((s) => (s === "NULL" ? null : s.replace(/^"|"$/g, "")));
}
