/**
 * The data keys of sealed and hashed fields: random AES-256-GCM keys (and one
 * HMAC-SHA-256 key) kept in `authpg_keystore_field_key`, each wrapped by the
 * key store's vault key, so they follow its password and its rotation and are
 * never derived from `BETTER_AUTH_SECRET`.
 *
 * The newest `seal` key seals new values; every `seal` key of the vault opens
 * values, so readers accept old and new keys while {@link rotateFieldKey}'s
 * re-seal runs. The one `hash` key is never rotated: a keyed hash cannot be
 * re-computed without the clear value it replaced.
 */
import { sql } from "kysely";
import { compiler } from "../compiler.js";
import type { Driver } from "../driver/contract.js";
import { KEYSTORE_FIELD_KEY_TABLE, KEYSTORE_TABLE } from "../stores/tables.js";
import { type DataKey, fromBase64, seal, toBase64, unseal } from "./crypto.js";
import { KeystoreIntegrityError } from "./errors.js";
import { toBase64Url } from "./seal.js";
import { execute, inTransaction, run, type VaultRow } from "./table.js";
import { checkPassword, lockedVault, type VaultRef, vaultRef, vaultUnlocker } from "./vault.js";

/** What a field data key is for. */
export type FieldKeyPurpose = "seal" | "hash";

/** A row of `authpg_keystore_field_key`. */
interface FieldKeyRow {
	id: string;
	purpose: FieldKeyPurpose;
	ciphertext: string;
	key_version: number;
	created_at: Date | string;
}

/** The field keys of one vault, opened. */
export interface FieldKeyring {
	/** The key new values are sealed with (the newest `seal` key). */
	readonly current: { readonly id: string; readonly key: DataKey };
	/** Every `seal` key by id: what opens a value. */
	readonly keys: ReadonlyMap<string, DataKey>;
	/** The HMAC key of hashed fields. */
	readonly hash: DataKey;
}

function statements(schema: string) {
	const v = sql.id(schema, KEYSTORE_TABLE);
	const f = sql.id(schema, KEYSTORE_FIELD_KEY_TABLE);
	const text = (query: ReturnType<typeof sql>) => query.compile(compiler).sql;
	return {
		all: text(
			sql`select v."salt", v."iterations", v."version", v."verifier", f."id", f."purpose", f."ciphertext",
				f."version" as "key_version", f."created_at"
				from ${v} v left join ${f} f on f."vault_id" = v."vault_id"
				where v."vault_id" = $1::text order by f."created_at", f."id"`,
		),
		keys: text(
			sql`select f."id", f."purpose", f."ciphertext", f."version" as "key_version", f."created_at" from ${f} f
				where f."vault_id" = $1::text order by f."created_at", f."id"`,
		),
		insert: text(
			sql`insert into ${f} ("id", "vault_id", "version", "purpose", "ciphertext", "created_at")
				values ($1::text, $2::text, $3::integer, $4::text, $5::text, clock_timestamp())`,
		),
		rewrap: text(
			sql`update ${f} f set "ciphertext" = r."ciphertext", "version" = $2::integer
				from unnest($3::text[], $4::text[]) as r("id", "ciphertext") where f."vault_id" = $1::text and f."id" = r."id"`,
		),
		exists: 'select pg_catalog.to_regclass($1::text) is not null as "exists"',
		table: `${sql.id(schema, KEYSTORE_FIELD_KEY_TABLE).compile(compiler).sql}`,
	};
}

const compiled = new Map<string, ReturnType<typeof statements>>();
const statementsFor = (schema: string) => {
	let s = compiled.get(schema);
	if (!s) {
		s = statements(schema);
		compiled.set(schema, s);
	}
	return s;
};

const keyAad = (vault: string, id: string, version: number, purpose: string) =>
	JSON.stringify(["authpg-keystore-field-key", vault, id, version, purpose]);

const importKey = (raw: Uint8Array<ArrayBuffer>, purpose: FieldKeyPurpose): Promise<DataKey> =>
	purpose === "seal"
		? globalThis.crypto.subtle.importKey("raw", raw, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"])
		: globalThis.crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

/** A new random field key wrapped under the vault key; only the wrapped form leaves this function. */
async function newFieldKey(tx: Driver, ref: VaultRef, vaultKey: DataKey, version: number, purpose: FieldKeyPurpose) {
	const id = toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(9)));
	const raw = globalThis.crypto.getRandomValues(new Uint8Array(32));
	const ciphertext = await seal(vaultKey, toBase64(raw), keyAad(ref.vault, id, version, purpose));
	raw.fill(0);
	await execute(
		tx,
		"create field key",
		statementsFor(ref.schema).insert,
		[id, ref.vault, version, purpose, ciphertext],
		undefined,
		KEYSTORE_FIELD_KEY_TABLE,
	);
	return id;
}

/** Unwrap one field key row; a row that fails its check is an integrity error (never a silent skip). */
async function openFieldKey(ref: VaultRef, vaultKey: DataKey, version: number, row: FieldKeyRow): Promise<DataKey> {
	const text =
		Number(row.key_version) === version
			? await unseal(vaultKey, row.ciphertext, keyAad(ref.vault, row.id, version, row.purpose))
			: undefined;
	const raw = text === undefined ? undefined : fromBase64(text);
	if (raw?.length !== 32) throw new KeystoreIntegrityError(`Field key "${row.id}"`, ref.where);
	try {
		return await importKey(raw, row.purpose);
	} finally {
		raw.fill(0);
	}
}

/** Options of {@link fieldKeys} and {@link rotateFieldKey}. */
export interface FieldKeysOptions {
	/** The keystore password. */
	password: string;
	/** Postgres schema of the key store. Default `public`. */
	schema?: string | undefined;
	/** The vault's id. Default `"default"`. */
	vault?: string | undefined;
}

/** How long a process trusts its view of the current seal key before it looks again (a rotation elsewhere). */
const REFRESH_MS = 30_000;

/** A process's access to the field keys of a vault: loaded once, refreshed when stale or when an unknown key id shows up. */
export interface FieldKeySource {
	/** The keyring, creating the vault and the first keys on first use. */
	get(): Promise<FieldKeyring>;
	/** The keyring re-read now (a value names a key this process has not seen). */
	reload(): Promise<FieldKeyring>;
}

/** The field keys of the vault named by `options`, for one process. */
export function fieldKeys(driver: Driver, options: FieldKeysOptions): FieldKeySource {
	checkPassword(options.password, "keystore password");
	const ref = vaultRef(options, true);
	const s = statementsFor(ref.schema);
	const unlock = vaultUnlocker(ref, options.password);
	let loaded: { at: number; ring: Promise<FieldKeyring> } | undefined;

	const open = async (vaultRow: VaultRow, rows: FieldKeyRow[]): Promise<FieldKeyring | undefined> => {
		const vaultKey = await unlock(vaultRow);
		const version = Number(vaultRow.version);
		const keys = new Map<string, DataKey>();
		let current: FieldKeyring["current"] | undefined;
		let hash: DataKey | undefined;
		for (const row of rows) {
			const key = await openFieldKey(ref, vaultKey, version, row);
			if (row.purpose === "hash") hash ??= key;
			else {
				keys.set(row.id, key);
				current = { id: row.id, key }; // rows come oldest first: the last is the newest
			}
		}
		return current && hash ? { current, keys, hash } : undefined;
	};

	const load = async (): Promise<FieldKeyring> => {
		const rows = await run<VaultRow & Partial<FieldKeyRow>>(driver, "field keys", s.all, [ref.vault]);
		const first = rows[0];
		if (first) {
			const ring = await open(first, rows.filter((r) => r.id != null) as FieldKeyRow[]);
			if (ring) return ring;
		}
		// First use: create the vault and the missing keys under its lock, so concurrent first uses agree on one set.
		return inTransaction(driver, "create field keys", async (tx) => {
			const vaultRow = await lockedVault(tx, ref, options.password);
			const vaultKey = await unlock(vaultRow);
			const version = Number(vaultRow.version);
			let keyRows = await run<FieldKeyRow>(tx, "field keys", s.keys, [ref.vault]);
			const has = (purpose: FieldKeyPurpose) => keyRows.some((r) => r.purpose === purpose);
			if (!has("hash")) await newFieldKey(tx, ref, vaultKey, version, "hash");
			if (!has("seal")) await newFieldKey(tx, ref, vaultKey, version, "seal");
			keyRows = await run<FieldKeyRow>(tx, "field keys", s.keys, [ref.vault]);
			const ring = await open(vaultRow, keyRows);
			if (!ring) throw new KeystoreIntegrityError("The field key set", ref.where);
			return ring;
		});
	};

	const reload = () => {
		const ring = load();
		loaded = { at: Date.now(), ring };
		ring.catch(() => {
			if (loaded?.ring === ring) loaded = undefined;
		});
		return ring;
	};

	return {
		get: () => (loaded && Date.now() - loaded.at < REFRESH_MS ? loaded.ring : reload()),
		reload,
	};
}

/**
 * Add a new seal key to the vault, which becomes the key new values are
 * sealed with (every process picks it up within 30 s, or at once when it
 * reads a value sealed with it). Old keys stay, so nothing stops opening;
 * `resealFields` then moves the values onto the new key.
 * @returns the new key's id.
 */
export async function rotateFieldKey(driver: Driver, options: FieldKeysOptions): Promise<string> {
	checkPassword(options.password, "keystore password");
	const ref = vaultRef(options, true);
	const unlock = vaultUnlocker(ref, options.password);
	return inTransaction(driver, "rotate field key", async (tx) => {
		const vaultRow = await lockedVault(tx, ref, options.password);
		const vaultKey = await unlock(vaultRow);
		const version = Number(vaultRow.version);
		const s = statementsFor(ref.schema);
		const rows = await run<FieldKeyRow>(tx, "field keys", s.keys, [ref.vault]);
		if (!rows.some((r) => r.purpose === "hash")) await newFieldKey(tx, ref, vaultKey, version, "hash");
		return newFieldKey(tx, ref, vaultKey, version, "seal");
	});
}

/**
 * Re-wrap every field key of a vault from the old vault key to the new one
 * (password rotation, in its transaction). Skipped on a database whose
 * migrations predate field keys.
 */
export async function rewrapFieldKeys(
	tx: Driver,
	ref: VaultRef,
	from: { key: DataKey; version: number },
	to: { key: DataKey; version: number },
): Promise<number> {
	const s = statementsFor(ref.schema);
	const [table] = await run<{ exists: boolean }>(tx, "rotate", s.exists, [s.table]);
	if (!table?.exists) return 0;
	const rows = await run<FieldKeyRow>(tx, "rotate", s.keys, [ref.vault]);
	if (rows.length === 0) return 0;
	const wrapped: string[] = [];
	for (const row of rows) {
		const text =
			Number(row.key_version) === from.version
				? await unseal(from.key, row.ciphertext, keyAad(ref.vault, row.id, from.version, row.purpose))
				: undefined;
		if (text === undefined) throw new KeystoreIntegrityError(`Field key "${row.id}"`, ref.where);
		wrapped.push(await seal(to.key, text, keyAad(ref.vault, row.id, to.version, row.purpose)));
	}
	const params = [ref.vault, to.version, rows.map((r) => r.id), wrapped];
	const updated = await execute(tx, "rotate", s.rewrap, params, undefined, KEYSTORE_FIELD_KEY_TABLE);
	if (updated.rowCount !== rows.length) throw new KeystoreIntegrityError("The field key set", ref.where);
	return rows.length;
}
