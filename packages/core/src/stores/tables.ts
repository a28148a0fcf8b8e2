/**
 * The tables of authpg's own stores (rate limit, secondary storage, key
 * store, event log), created by the migration planner beside Better Auth's tables.
 * DDL through Kysely's schema builder; names are fixed and prefixed
 * `authpg_` so they never collide with a Better Auth model.
 */
import { type CreateTableBuilder, sql } from "kysely";
import { compiler } from "../compiler.js";
import type { SchemaStep } from "../migrations/ddl.js";

/** Which store tables to create. */
export type StoreName = "rateLimit" | "secondaryStorage" | "keyStore" | "events";

/** All of them, in creation order. */
export const STORE_NAMES: readonly StoreName[] = ["rateLimit", "secondaryStorage", "keyStore", "events"];

/** One store's tables and the steps that create them (tables first, then indexes). */
export interface StoreTable {
	readonly store: StoreName;
	readonly tables: readonly string[];
	create(namespace: string): SchemaStep[];
}

const table = (namespace: string, name: string, unlogged = false) => {
	const builder = compiler.schema.withSchema(namespace).createTable(name).ifNotExists();
	return unlogged ? builder.modifyFront(sql`unlogged`) : builder;
};
const index = (namespace: string, name: string, on: string, column: string): SchemaStep => ({
	kind: "createIndex",
	target: name,
	sql: compiler.schema.withSchema(namespace).createIndex(name).ifNotExists().on(on).column(column).compile().sql,
	safety: "safe",
});
const compile = (builder: CreateTableBuilder<string, string>): SchemaStep => {
	const node = builder.toOperationNode();
	return { kind: "createTable", target: node.table.table.identifier.name, sql: builder.compile().sql, safety: "safe" };
};

/** The rate-limit table: one row per key. UNLOGGED: losing counters in a crash only resets windows. */
export const RATE_LIMIT_TABLE = "authpg_rate_limit";
/** The secondary-storage table. UNLOGGED: it is a cache by contract. */
export const KV_TABLE = "authpg_kv";
/** The key store's vault and keys. Logged: signing keys must survive a crash. */
export const KEYSTORE_TABLE = "authpg_keystore";
export const KEYSTORE_KEY_TABLE = "authpg_keystore_key";
/** The data keys of sealed and hashed fields, wrapped by the vault key. */
export const KEYSTORE_FIELD_KEY_TABLE = "authpg_keystore_field_key";
/** The event log: logged, range-partitioned by `created_at`, one partition per calendar month (UTC). */
export const EVENT_TABLE = "authpg_event";
/** Months of partitions the planner creates: the current one and the next ones. */
export const EVENT_PARTITIONS_AHEAD = 3;

/** The name of the event partition holding `month` (UTC): `authpg_event_p202612`. */
export function eventPartitionName(month: Date): string {
	return `${EVENT_TABLE}_p${month.getUTCFullYear()}${String(month.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** The first instant of the UTC month `offset` months after the one holding `at`. */
export function monthStart(at: Date, offset = 0): Date {
	return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
}

/** `create table … partition of authpg_event` for the UTC month holding `month`. */
export function eventPartitionStep(namespace: string, month: Date): SchemaStep {
	const from = monthStart(month);
	const to = monthStart(month, 1);
	const name = eventPartitionName(from);
	// DDL takes no bound parameters: the bounds are dates we format ourselves, as literals.
	const statement = sql`create table if not exists ${sql.id(namespace, name)} partition of ${sql.id(namespace, EVENT_TABLE)} for values from (${sql.lit(from.toISOString())}) to (${sql.lit(to.toISOString())})`;
	return { kind: "createTable", target: name, sql: statement.compile(compiler).sql, safety: "safe" };
}

export const storeTables: readonly StoreTable[] = [
	{
		store: "rateLimit",
		tables: [RATE_LIMIT_TABLE],
		create: (ns) => [
			compile(
				table(ns, RATE_LIMIT_TABLE, true)
					.addColumn("key", "text", (c) => c.primaryKey())
					.addColumn("count", "integer", (c) => c.notNull())
					.addColumn("last_request", "bigint", (c) => c.notNull())
					.addColumn("allowed", "boolean", (c) => c.notNull())
					.addColumn("expires_at", "timestamptz", (c) => c.notNull()),
			),
			index(ns, `${RATE_LIMIT_TABLE}_expires_at_idx`, RATE_LIMIT_TABLE, "expires_at"),
		],
	},
	{
		store: "secondaryStorage",
		tables: [KV_TABLE],
		create: (ns) => [
			compile(
				table(ns, KV_TABLE, true)
					.addColumn("key", "text", (c) => c.primaryKey())
					.addColumn("value", "text", (c) => c.notNull())
					.addColumn("expires_at", "timestamptz"),
			),
			index(ns, `${KV_TABLE}_expires_at_idx`, KV_TABLE, "expires_at"),
		],
	},
	{
		store: "keyStore",
		tables: [KEYSTORE_TABLE, KEYSTORE_KEY_TABLE, KEYSTORE_FIELD_KEY_TABLE],
		create: (ns) => [
			compile(
				table(ns, KEYSTORE_TABLE)
					.addColumn("vault_id", "text", (c) => c.primaryKey())
					.addColumn("salt", "text", (c) => c.notNull())
					.addColumn("iterations", "integer", (c) => c.notNull())
					.addColumn("version", "integer", (c) => c.notNull())
					.addColumn("verifier", "text", (c) => c.notNull())
					.addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
					.addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`)),
			),
			compile(
				table(ns, KEYSTORE_KEY_TABLE)
					.addColumn("id", "text", (c) => c.primaryKey())
					.addColumn("vault_id", "text", (c) =>
						c.notNull().references(`${KEYSTORE_TABLE}.vault_id`).onDelete("cascade"),
					)
					.addColumn("version", "integer", (c) => c.notNull())
					.addColumn("public_key", "text", (c) => c.notNull())
					.addColumn("ciphertext", "text", (c) => c.notNull())
					.addColumn("alg", "text")
					.addColumn("crv", "text")
					.addColumn("created_at", "timestamptz", (c) => c.notNull())
					.addColumn("expires_at", "timestamptz"),
			),
			compile(
				table(ns, KEYSTORE_FIELD_KEY_TABLE)
					.addColumn("id", "text", (c) => c.primaryKey())
					.addColumn("vault_id", "text", (c) =>
						c.notNull().references(`${KEYSTORE_TABLE}.vault_id`).onDelete("cascade"),
					)
					.addColumn("version", "integer", (c) => c.notNull())
					.addColumn("purpose", "text", (c) => c.notNull())
					.addColumn("ciphertext", "text", (c) => c.notNull())
					.addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`)),
			),
			// Every read of the key store selects one vault's keys.
			index(ns, `${KEYSTORE_KEY_TABLE}_vault_id_idx`, KEYSTORE_KEY_TABLE, "vault_id"),
			index(ns, `${KEYSTORE_FIELD_KEY_TABLE}_vault_id_idx`, KEYSTORE_FIELD_KEY_TABLE, "vault_id"),
		],
	},
	{
		store: "events",
		tables: [EVENT_TABLE],
		create: (ns) => {
			const now = new Date();
			const parent = compile(
				table(ns, EVENT_TABLE)
					.addColumn("id", "uuid", (c) => c.notNull())
					.addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
					.addColumn("type", "text", (c) => c.notNull())
					.addColumn("user_id", "text")
					.addColumn("session_id", "text")
					.addColumn("actor_id", "text")
					.addColumn("ip_address", "text")
					.addColumn("user_agent", "text")
					.addColumn("outcome", "text", (c) => c.notNull())
					.addColumn("details", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
					// A partitioned table's keys must include the partition key.
					.addPrimaryKeyConstraint(`${EVENT_TABLE}_pkey`, ["created_at", "id"])
					.modifyEnd(sql`partition by range ("created_at")`),
			);
			const months = Array.from({ length: EVENT_PARTITIONS_AHEAD }, (_, i) =>
				eventPartitionStep(ns, monthStart(now, i)),
			);
			// Events outside every month partition land here instead of failing the sign-in that wrote them.
			const fallback: SchemaStep = {
				kind: "createTable",
				target: `${EVENT_TABLE}_default`,
				sql: sql`create table if not exists ${sql.id(ns, `${EVENT_TABLE}_default`)} partition of ${sql.id(ns, EVENT_TABLE)} default`.compile(
					compiler,
				).sql,
				safety: "safe",
			};
			// list() filters by user or type and walks (created_at, id) newest first.
			const listIndex = (name: string, column: string): SchemaStep => ({
				kind: "createIndex",
				target: name,
				sql: sql`create index if not exists ${sql.id(name)} on ${sql.id(ns, EVENT_TABLE)} (${sql.id(column)}, "created_at" desc, "id" desc)`.compile(
					compiler,
				).sql,
				safety: "safe",
			});
			return [
				parent,
				...months,
				fallback,
				listIndex(`${EVENT_TABLE}_user_idx`, "user_id"),
				listIndex(`${EVENT_TABLE}_type_idx`, "type"),
			];
		},
	},
];

/** Marks a store object so the planner can tell, from Better Auth options, which tables they need. */
export const STORE_MARK = Symbol.for("authpg.store");

/** The stores plugged into `options` (through `stores.applyTo`, or by hand). */
export function storesIn(options: {
	rateLimit?: { customStorage?: unknown } | undefined;
	secondaryStorage?: unknown;
	plugins?: unknown[] | undefined;
	database?: unknown;
}): StoreName[] {
	const marked = (value: unknown): StoreName | undefined =>
		(value as Record<symbol, StoreName> | undefined)?.[STORE_MARK];
	const found = new Set<StoreName>();
	// The adapter is marked "keyStore" when it seals fields: their data keys live in the key store's tables.
	for (const candidate of [options.rateLimit?.customStorage, options.secondaryStorage, options.database]) {
		const store = marked(candidate);
		if (store) found.add(store);
	}
	for (const plugin of options.plugins ?? []) {
		// The key store is marked on the JWT plugin's adapter; the event log is a plugin of its own.
		const store = marked((plugin as { options?: { adapter?: unknown } })?.options?.adapter) ?? marked(plugin);
		if (store) found.add(store);
	}
	return STORE_NAMES.filter((name) => found.has(name));
}
