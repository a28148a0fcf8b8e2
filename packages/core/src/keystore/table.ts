/**
 * The key store's tables: the rows as Postgres returns them, the statements of
 * one schema (compiled once per process), and running them so that any failure
 * becomes a typed error naming the key-store operation.
 */
import { sql } from "kysely";
import { compiler, statementName } from "../compiler.js";
import type { Driver, QueryResult } from "../driver/contract.js";
import { toQueryError } from "../errors.js";
import { KEYSTORE_KEY_TABLE, KEYSTORE_TABLE } from "../stores/tables.js";

/** A row of `authpg_keystore`: what unlocks the vault. */
export interface VaultRow {
	salt: string;
	iterations: number;
	version: number;
	verifier: string;
}

/** A row of `authpg_keystore_key`: one sealed signing key. */
export interface KeyRow {
	id: string;
	public_key: string;
	ciphertext: string;
	alg: string | null;
	crv: string | null;
	created_at: Date | string;
	expires_at: Date | string | null;
	key_version: number;
}

/** The statements of one (schema) namespace, compiled once. */
function statements(schema: string) {
	const v = sql.id(schema, KEYSTORE_TABLE);
	const k = sql.id(schema, KEYSTORE_KEY_TABLE);
	const text = (query: ReturnType<typeof sql>) => query.compile(compiler).sql;
	const vaultColumns = sql`v."salt", v."iterations", v."version", v."verifier"`;
	const keyColumns = sql`k."id", k."public_key", k."ciphertext", k."alg", k."crv", k."created_at", k."expires_at", k."version" as "key_version"`;
	const all = text(
		sql`select ${vaultColumns}, ${keyColumns} from ${v} v left join ${k} k on k."vault_id" = v."vault_id"
			where v."vault_id" = $1::text order by k."created_at", k."id"`,
	);
	return {
		all: { text: all, name: statementName(all) },
		lockVault: text(sql`select ${vaultColumns} from ${v} v where v."vault_id" = $1::text for update`),
		creationLock: "select pg_advisory_xact_lock(hashtextextended($1::text, 0))",
		createVault: text(
			sql`insert into ${v} ("vault_id", "salt", "iterations", "version", "verifier")
				values ($1::text, $2::text, $3::integer, 1, $4::text) on conflict ("vault_id") do nothing`,
		),
		liveKey: text(
			sql`select ${keyColumns} from ${k} k where k."vault_id" = $1::text and k."alg" is not distinct from $2::text
				and (k."expires_at" is null or k."expires_at" > $3::timestamptz) order by k."created_at" desc, k."id" limit 1`,
		),
		keys: text(sql`select ${keyColumns} from ${k} k where k."vault_id" = $1::text order by k."created_at", k."id"`),
		insertKey: text(
			sql`insert into ${k} ("id", "vault_id", "version", "public_key", "ciphertext", "alg", "crv", "created_at", "expires_at")
				values ($1::text, $2::text, $3::integer, $4::text, $5::text, $6::text, $7::text, $8::timestamptz, $9::timestamptz)`,
		),
		rotateVault: text(
			sql`update ${v} set "salt" = $2::text, "iterations" = $3::integer, "version" = $4::integer, "verifier" = $5::text,
				"updated_at" = now() where "vault_id" = $1::text`,
		),
		rotateKeys: text(
			sql`update ${k} k set "ciphertext" = r."ciphertext", "version" = $2::integer
				from unnest($3::text[], $4::text[]) as r("id", "ciphertext") where k."vault_id" = $1::text and k."id" = r."id"`,
		),
	};
}

/** The compiled statements of one schema. */
export type Statements = ReturnType<typeof statements>;

const compiled = new Map<string, Statements>();

/** The statements of `schema`, compiled on first use. */
export function statementsFor(schema: string): Statements {
	let s = compiled.get(schema);
	if (!s) {
		s = statements(schema);
		compiled.set(schema, s);
	}
	return s;
}

/** Run one statement; a failure becomes a typed error naming the key-store operation and `table`. */
export async function execute<R>(
	driver: Driver,
	op: string,
	text: string,
	params: unknown[],
	name?: string,
	table: string = KEYSTORE_TABLE,
): Promise<QueryResult<R>> {
	try {
		return await driver.query<R>(text, params, name ? { name } : undefined);
	} catch (error) {
		throw toQueryError(`key store ${op}`, table, error);
	}
}

/** Run one statement and return its rows (see {@link execute}). */
export async function run<R>(driver: Driver, op: string, text: string, params: unknown[], name?: string): Promise<R[]> {
	return (await execute<R>(driver, op, text, params, name)).rows;
}

/** Run `fn` in a transaction; a failed BEGIN or COMMIT becomes a typed error too (ours pass through). */
export function inTransaction<T>(driver: Driver, op: string, fn: (tx: Driver) => Promise<T>): Promise<T> {
	return driver.transaction(fn).catch((error: unknown) => {
		throw toQueryError(`key store ${op}`, KEYSTORE_TABLE, error);
	});
}
