/**
 * The tables of authpg's own stores (rate limit, secondary storage, key
 * store), created by the migration planner beside Better Auth's tables.
 * DDL through Kysely's schema builder; names are fixed and prefixed
 * `authpg_` so they never collide with a Better Auth model.
 */
import { type CreateTableBuilder, sql } from "kysely";
import { compiler } from "../compiler.js";
import type { SchemaStep } from "../migrations/ddl.js";

/** Which store tables to create. */
export type StoreName = "rateLimit" | "secondaryStorage" | "keyStore";

/** All of them, in creation order. */
export const STORE_NAMES: readonly StoreName[] = ["rateLimit", "secondaryStorage", "keyStore"];

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
		tables: [KEYSTORE_TABLE, KEYSTORE_KEY_TABLE],
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
			// Every read of the key store selects one vault's keys.
			index(ns, `${KEYSTORE_KEY_TABLE}_vault_id_idx`, KEYSTORE_KEY_TABLE, "vault_id"),
		],
	},
];

/** Marks a store object so the planner can tell, from Better Auth options, which tables they need. */
export const STORE_MARK = Symbol.for("authpg.store");

/** The stores plugged into `options` (through `stores.applyTo`, or by hand). */
export function storesIn(options: {
	rateLimit?: { customStorage?: unknown } | undefined;
	secondaryStorage?: unknown;
	plugins?: unknown[] | undefined;
}): StoreName[] {
	const marked = (value: unknown): StoreName | undefined =>
		(value as Record<symbol, StoreName> | undefined)?.[STORE_MARK];
	const found = new Set<StoreName>();
	for (const candidate of [options.rateLimit?.customStorage, options.secondaryStorage]) {
		const store = marked(candidate);
		if (store) found.add(store);
	}
	for (const plugin of options.plugins ?? []) {
		const store = marked((plugin as { options?: { adapter?: unknown } })?.options?.adapter);
		if (store) found.add(store);
	}
	return STORE_NAMES.filter((name) => found.has(name));
}
