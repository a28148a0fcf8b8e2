/**
 * `resealFields`: move every sealed value onto the newest field key, seal the
 * values still in the clear, and hash the clear values of hashed fields — in
 * bounded batches, online. Its progress is the data itself (what is not yet
 * under the newest key), so a run killed midway resumes by running again.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import { sql } from "kysely";
import { FieldSealer, type SealOptions, sealConfig } from "../adapter/sealed-fields.js";
import { compiler } from "../compiler.js";
import type { Driver } from "../driver/contract.js";
import { SealedFieldConfigError, SealedFieldError, toQueryError } from "../errors.js";
import { compileSchema, type FieldInfo, type ModelInfo, type SchemaOptions } from "../model.js";
import { fieldKeys } from "./field-keys.js";
import { HASHED_PREFIX, SEALED_PREFIX } from "./seal.js";

/** Options of {@link resealFields}. */
export interface ResealOptions extends SchemaOptions {
	/** The keystore password (the one the stores run with). */
	keystorePassword: string;
	/** The `seal` option the stores run with. Default `true` (the default fields). */
	seal?: boolean | SealOptions | undefined;
	/** The key store's vault. Default `"default"`. */
	vault?: string;
	/** Rows read and written per statement. Default 500. */
	batchSize?: number;
	/** Called after each batch. */
	onProgress?: (progress: ResealProgress) => void;
}

/** Where a {@link resealFields} run is. */
export interface ResealProgress {
	/** `"model.field"`. */
	field: string;
	/** Rows of this field handled so far in this run. */
	done: number;
	/** Rows of this field that needed work when the field was started. */
	total: number;
}

/** What {@link resealFields} did to one field. */
export interface ResealCount {
	/** `"model.field"`. */
	field: string;
	/** Sealed values moved onto the newest key. */
	resealed: number;
	/** Clear values sealed (sealed fields) or hashed (hashed fields). */
	adopted: number;
	/** Sealed values that did not open (altered, or under a key this vault does not hold): left as they are. */
	unreadable: number;
}

/** What {@link resealFields} did. */
export interface ResealResult {
	/** The key every sealed value is now under. */
	keyId: string;
	fields: ResealCount[];
}

type Row = { id: unknown; value: string };

const MAX_PASSES = 5;

/**
 * Reseal the sealed and hashed fields of `options` (see {@link ResealOptions}):
 * after it, every sealed value is under the newest field key and nothing a
 * field is configured to seal or hash is left in the clear (except values
 * that failed to open, which are counted and left alone). Each row is written
 * only if it still holds the value read, so concurrent writes are never lost.
 * A full pass that finds nothing left ends a field; values written meanwhile
 * by processes still on the old key are picked up by the next pass.
 */
export async function resealFields(
	driver: Driver,
	authOptions: BetterAuthOptions,
	options: ResealOptions,
): Promise<ResealResult> {
	const config = sealConfig(options.seal ?? true);
	if (!config) throw new SealedFieldConfigError("resealFields needs `seal` on (true or the options the stores use).");
	const schema = compileSchema(authOptions, options);
	const keys = fieldKeys(driver, { password: options.keystorePassword, schema: options.schema, vault: options.vault });
	const sealer = new FieldSealer(config, keys);
	const ring = await keys.reload();
	const batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
	const fields: ResealCount[] = [];
	for (const model of schema.models) {
		const sm = sealer.of(model, schema);
		if (!sm) continue;
		for (const field of sm.sealed) {
			const target = `${SEALED_PREFIX}${ring.current.id}:`;
			const count: ResealCount = { field: `${model.key}.${field.key}`, resealed: 0, adopted: 0, unreadable: 0 };
			// By id: a later pass meets the same unreadable rows again.
			const unreadable = new Set<string>();
			await sweep(driver, schema.namespace, model, field, target, batchSize, options.onProgress, async (row) => {
				let clear: unknown;
				try {
					clear = await sealer.open(sm, field, String(row.id), row.value);
				} catch (error) {
					if (!(error instanceof SealedFieldError)) throw error;
					unreadable.add(String(row.id));
					return undefined;
				}
				if (row.value.startsWith(SEALED_PREFIX)) count.resealed++;
				else count.adopted++;
				return sealer.seal(sm, field, String(row.id), clear as string);
			});
			count.unreadable = unreadable.size;
			fields.push(count);
		}
		for (const { field } of sm.hashed) {
			const count: ResealCount = { field: `${model.key}.${field.key}`, resealed: 0, adopted: 0, unreadable: 0 };
			await sweep(driver, schema.namespace, model, field, HASHED_PREFIX, batchSize, options.onProgress, async (row) => {
				const hashed = await sealer.hash(sm, field, row.value);
				if (hashed === row.value) return undefined; // a kind its rule leaves clear
				count.adopted++;
				return hashed as string;
			});
			fields.push(count);
		}
	}
	return { keyId: ring.current.id, fields };
}

/**
 * Walk the rows of `field` whose value does not start with `done`, in id
 * order, `batchSize` at a time; write back what `next` returns (compare and
 * set on the value read). Passes repeat until one changes nothing.
 */
async function sweep(
	driver: Driver,
	namespace: string,
	model: ModelInfo,
	field: FieldInfo,
	done: string,
	batchSize: number,
	onProgress: ResealOptions["onProgress"],
	next: (row: Row) => Promise<string | undefined>,
): Promise<void> {
	const table = sql.id(namespace, model.table);
	const id = sql.id(model.id.column);
	const column = sql.id(field.column);
	// The id's own type for the cursor and the write, so the primary key's index serves both.
	const idType = sql.raw(model.id.pgType);
	const text = (query: ReturnType<typeof sql>) => query.compile(compiler).sql;
	const pending = sql`${column} is not null and not starts_with(${column}, $1::text)`;
	const countSql = text(sql`select count(*)::text as "n" from ${table} where ${pending}`);
	const firstSql = text(
		sql`select ${id} as "id", ${column} as "value" from ${table} where ${pending} order by ${id} limit $2::integer`,
	);
	const nextSql = text(
		sql`select ${id} as "id", ${column} as "value" from ${table} where ${pending} and ${id} > $3::${idType} order by ${id} limit $2::integer`,
	);
	const writeSql = text(
		sql`update ${table} t set ${column} = r."value" from unnest($1::text[], $2::text[], $3::text[]) as r("id", "old", "value")
			where t.${id} = r."id"::${idType} and t.${column} = r."old"`,
	);
	const query = async <R>(statement: string, params: unknown[]) => {
		try {
			return await driver.query<R>(statement, params);
		} catch (error) {
			throw toQueryError("resealFields", model.key, error);
		}
	};
	const name = `${model.key}.${field.key}`;
	for (let pass = 0; pass < MAX_PASSES; pass++) {
		const total = Number((await query<{ n: string }>(countSql, [done])).rows[0]?.n ?? 0);
		if (total === 0) return;
		let handled = 0;
		let written = 0;
		let cursor: unknown;
		for (;;) {
			const { rows } =
				cursor === undefined
					? await query<Row>(firstSql, [done, batchSize])
					: await query<Row>(nextSql, [done, batchSize, cursor]);
			if (rows.length === 0) break;
			cursor = rows[rows.length - 1]!.id;
			const ids: string[] = [];
			const olds: string[] = [];
			const values: string[] = [];
			for (const row of rows) {
				const value = await next(row);
				if (value === undefined) continue;
				ids.push(String(row.id));
				olds.push(row.value);
				values.push(value);
			}
			if (ids.length > 0) written += (await query(writeSql, [ids, olds, values])).rowCount;
			handled += rows.length;
			onProgress?.({ field: name, done: Math.min(handled, total), total });
			if (rows.length < batchSize) break;
		}
		if (written === 0) return;
	}
}
