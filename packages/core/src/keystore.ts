/**
 * The key store: a vault in Postgres for the signing keys of Better Auth's
 * JWT plugin, each private key sealed with AES-256-GCM under a data key
 * derived from the keystore password (see `keystore-crypto.ts`).
 *
 * A vault is one row of `authpg_keystore` (salt, iterations, version and a
 * verifier that proves the password); its keys are rows of
 * `authpg_keystore_key`, each sealed with every other field of its row (and
 * the vault id and version) as authenticated data. Writers lock the vault row,
 * so a key is never added while the password is being rotated.
 */
import { sql } from "kysely";
import { compiler, statementName } from "./dialect.js";
import type { Driver } from "./driver.js";
import { AuthpgError, InvalidValueError, toQueryError } from "./errors.js";
import {
	checkVerifier,
	type DataKey,
	dataKey,
	ITERATIONS_RANGE,
	KEYSTORE_ITERATIONS,
	type KeyBinding,
	keyAad,
	makeVerifier,
	newSalt,
	seal,
	unseal,
	verifierAad,
} from "./keystore-crypto.js";
import { KEYSTORE_KEY_TABLE, KEYSTORE_TABLE, STORE_MARK } from "./store-tables.js";

export { KEYSTORE_ITERATIONS };

/** The signing algorithms of Better Auth's JWT plugin. */
export type KeystoreJwkAlg = "EdDSA" | "ES256" | "ES512" | "PS256" | "RS256";

/** A signing key as Better Auth's JWT plugin reads and writes it (its `Jwk`). */
export interface KeystoreJwk {
	/** The key id: the `kid` of the JWTs it signs. */
	id: string;
	/** The public JWK, JSON. */
	publicKey: string;
	/** The private key exactly as Better Auth handed it over (JSON; encrypted with its secret unless disabled). */
	privateKey: string;
	createdAt: Date;
	expiresAt?: Date;
	alg?: KeystoreJwkAlg | undefined;
	crv?: ("Ed25519" | "P-256" | "P-521") | undefined;
}

/** What Better Auth's `jwt({ adapter })` takes. */
export interface KeystoreJwtAdapter {
	/** Every key of the vault, decrypted (expired ones included: Better Auth filters them). */
	getJwks(ctx?: unknown): Promise<KeystoreJwk[]>;
	/**
	 * Seal and store a new key. When the vault already holds a live key of the
	 * same algorithm, that key is returned instead: Better Auth only mints a
	 * key after finding none, so a caller that lost a race gets the winner's
	 * key and concurrent first use ends with one key. To replace a live key,
	 * give keys an expiry (`jwks.rotationInterval`).
	 */
	createJwk(data: Omit<KeystoreJwk, "id">, ctx?: unknown): Promise<KeystoreJwk>;
}

/** Options of {@link keyStore}. */
export interface KeyStoreOptions {
	/** The keystore password. Its data key is derived once per process (PBKDF2-SHA256, 600 000 iterations). */
	password: string;
	/** Postgres schema holding `authpg_keystore` and `authpg_keystore_key`. Default `public`. */
	schema?: string;
	/** The vault's id, for several vaults in one schema. Default `"default"`. */
	vault?: string;
}

/** A key store over `authpg_keystore` (created by the migration planner). */
export interface KeyStore {
	/** Plug into Better Auth: `jwt({ adapter: keyStore.jwtAdapter })`. */
	readonly jwtAdapter: KeystoreJwtAdapter;
	/**
	 * Create the vault if it does not exist yet, and check that the password
	 * opens it. Optional (the first JWT or JWKS request does the same); call it
	 * at startup to fail fast on a wrong password.
	 */
	open(): Promise<void>;
}

/** The keystore password does not open the vault. */
export class KeystorePasswordError extends AuthpgError {
	constructor(where: string) {
		super(
			"KEYSTORE_PASSWORD",
			`The keystore password does not open ${where}. Check that keystorePassword (e.g. AUTHPG_KEYSTORE_PASSWORD) is the password the vault was created with or last rotated to (\`authpg keystore rotate-password\`); if the vault row was edited, restore it from a backup.`,
		);
	}
}

/** A row of the key store failed its integrity check: it was altered, or moved from another key, vault or version. */
export class KeystoreIntegrityError extends AuthpgError {
	constructor(what: string, where: string) {
		super(
			"KEYSTORE_INTEGRITY",
			`${what} in ${where} failed its integrity check: the row was altered, or moved from another key, vault or version. Restore it from a backup, or delete the key so Better Auth mints a new one.`,
		);
	}
}

/** There is no vault to act on (password rotation needs an existing one). */
export class KeystoreNotFoundError extends AuthpgError {
	constructor(where: string) {
		super(
			"KEYSTORE_NOT_FOUND",
			`There is no ${where}. Check the schema (and vault id); a vault is created on first use of the key store.`,
		);
	}
}

/** `stores.keyStore` was used without a keystore password. */
export class KeystoreNotConfiguredError extends AuthpgError {
	constructor() {
		super(
			"KEYSTORE_NOT_CONFIGURED",
			"The key store needs a password: pass `keystorePassword` to createStores/fromClient (e.g. `keystorePassword: process.env.AUTHPG_KEYSTORE_PASSWORD`), then run `authpg migrate` to create its tables.",
		);
	}
}

interface VaultRow {
	salt: string;
	iterations: number;
	version: number;
	verifier: string;
}

interface KeyRow {
	id: string;
	public_key: string;
	ciphertext: string;
	alg: string | null;
	crv: string | null;
	created_at: Date | string;
	expires_at: Date | string | null;
	key_version: number;
}

const DEFAULT_VAULT = "default";

function describe(schema: string, vault: string): string {
	return `key store vault "${vault}" (schema "${schema}")`;
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

type Statements = ReturnType<typeof statements>;
const compiled = new Map<string, Statements>();
const statementsFor = (schema: string) => {
	let s = compiled.get(schema);
	if (!s) {
		s = statements(schema);
		compiled.set(schema, s);
	}
	return s;
};

async function run<R>(driver: Driver, op: string, text: string, params: unknown[], name?: string): Promise<R[]> {
	try {
		return (await driver.query<R>(text, params, name ? { name } : undefined)).rows;
	} catch (error) {
		throw toQueryError(`key store ${op}`, KEYSTORE_TABLE, error);
	}
}

/** Run `fn` in a transaction; a failed BEGIN or COMMIT becomes a typed error too (ours pass through). */
function inTransaction<T>(driver: Driver, op: string, fn: (tx: Driver) => Promise<T>): Promise<T> {
	return driver.transaction(fn).catch((error: unknown) => {
		throw toQueryError(`key store ${op}`, KEYSTORE_TABLE, error);
	});
}

const toDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));

function checkPassword(password: unknown, what: string): asserts password is string {
	if (typeof password !== "string" || password.length === 0) {
		throw new InvalidValueError(`The ${what} must be a non-empty string.`);
	}
}

/** Derive the vault's data key for `password` and check it against the verifier. */
async function unlockVault(vault: string, schema: string, row: VaultRow, password: string): Promise<DataKey> {
	const where = describe(schema, vault);
	const iterations = Number(row.iterations);
	const version = Number(row.version);
	if (
		!Number.isInteger(iterations) ||
		iterations < ITERATIONS_RANGE.min ||
		iterations > ITERATIONS_RANGE.max ||
		!Number.isInteger(version)
	) {
		throw new KeystoreIntegrityError("The vault row", where);
	}
	let key: DataKey;
	try {
		key = await dataKey(vault, row.salt, iterations, password);
	} catch {
		// Only a salt that is not base64 makes the derivation itself fail.
		throw new KeystoreIntegrityError("The vault row", where);
	}
	if (!(await checkVerifier(key, row.verifier, verifierAad(vault, version, row.salt, iterations)))) {
		throw new KeystorePasswordError(where);
	}
	return key;
}

function binding(vault: string, version: number, row: KeyRow): KeyBinding {
	return {
		vault,
		id: row.id,
		// The vault's version, not the row's: a row left from another version fails to open.
		version,
		publicKey: row.public_key,
		alg: row.alg,
		crv: row.crv,
		createdAt: toDate(row.created_at),
		expiresAt: row.expires_at === null ? null : toDate(row.expires_at),
	};
}

async function openKey(key: DataKey, vault: string, schema: string, version: number, row: KeyRow) {
	const bound = binding(vault, version, row);
	const privateKey = Number(row.key_version) === version ? await unseal(key, row.ciphertext, keyAad(bound)) : undefined;
	if (privateKey === undefined) throw new KeystoreIntegrityError(`Key "${row.id}"`, describe(schema, vault));
	return { bound, privateKey };
}

function toJwk(bound: KeyBinding, privateKey: string): KeystoreJwk {
	return {
		id: bound.id,
		publicKey: bound.publicKey,
		privateKey,
		createdAt: bound.createdAt,
		...(bound.expiresAt ? { expiresAt: bound.expiresAt } : {}),
		...(bound.alg !== null ? { alg: bound.alg as KeystoreJwkAlg } : {}),
		...(bound.crv !== null ? { crv: bound.crv as KeystoreJwk["crv"] } : {}),
	};
}

const sameVault = (a: VaultRow, b: VaultRow) =>
	a.salt === b.salt &&
	Number(a.iterations) === Number(b.iterations) &&
	Number(a.version) === Number(b.version) &&
	a.verifier === b.verifier;

/**
 * A key store for Better Auth's JWT plugin in `authpg_keystore` /
 * `authpg_keystore_key` (created by the migration planner). The vault is
 * created on first use.
 *
 * @example
 * ```ts
 * const ks = keyStore(driver, { password: process.env.AUTHPG_KEYSTORE_PASSWORD!, schema: "auth" });
 * betterAuth({ ..., plugins: [jwt({ adapter: ks.jwtAdapter })] });
 * ```
 */
export function keyStore(driver: Driver, options: KeyStoreOptions): KeyStore {
	const { password } = options;
	checkPassword(password, "keystore password");
	const schema = options.schema ?? "public";
	const vault = options.vault ?? DEFAULT_VAULT;
	if (typeof vault !== "string" || vault.length === 0)
		throw new InvalidValueError("The vault id must be a non-empty string.");
	const s = statementsFor(schema);
	const where = describe(schema, vault);

	// The vault state last checked, and what came of it: a wrong password is
	// not derived again (and again) until the vault row changes.
	let checked: { row: VaultRow; key?: DataKey; error?: unknown } | undefined;
	const unlock = async (row: VaultRow): Promise<DataKey> => {
		if (!checked || !sameVault(checked.row, row)) {
			const state: VaultRow = {
				salt: row.salt,
				iterations: row.iterations,
				version: row.version,
				verifier: row.verifier,
			};
			try {
				checked = { row: state, key: await unlockVault(vault, schema, state, password) };
			} catch (error) {
				checked = { row: state, error };
			}
		}
		if (checked.error !== undefined) throw checked.error;
		return checked.key!;
	};

	/** The vault row, locked for this transaction; created (under an advisory lock) when missing. */
	const lockedVault = async (tx: Driver): Promise<VaultRow> => {
		const [found] = await run<VaultRow>(tx, "lock vault", s.lockVault, [vault]);
		if (found) return found;
		// One creator at a time: the others wait here and then find its vault, so
		// they derive from the salt that won rather than from one of their own.
		await run(tx, "lock vault creation", s.creationLock, [`authpg:keystore:${schema}:${vault}`]);
		const [raced] = await run<VaultRow>(tx, "lock vault", s.lockVault, [vault]);
		if (raced) return raced;
		const salt = newSalt();
		const key = await dataKey(vault, salt, KEYSTORE_ITERATIONS, password);
		const verifier = await makeVerifier(key, verifierAad(vault, 1, salt, KEYSTORE_ITERATIONS));
		await run(tx, "create vault", s.createVault, [vault, salt, KEYSTORE_ITERATIONS, verifier]);
		const [created] = await run<VaultRow>(tx, "lock vault", s.lockVault, [vault]);
		if (!created) throw new KeystoreNotFoundError(where);
		return created;
	};

	const getJwks = async (): Promise<KeystoreJwk[]> => {
		const rows = await run<VaultRow & KeyRow>(driver, "getJwks", s.all.text, [vault], s.all.name);
		const first = rows[0];
		if (!first) return [];
		const key = await unlock(first);
		const version = Number(first.version);
		const keys = rows.filter((row) => row.id !== null);
		const opened = await Promise.all(keys.map((row) => openKey(key, vault, schema, version, row)));
		return opened.map(({ bound, privateKey }) => toJwk(bound, privateKey));
	};

	const createJwk = async (data: Omit<KeystoreJwk, "id">): Promise<KeystoreJwk> => {
		if (typeof data?.publicKey !== "string" || typeof data.privateKey !== "string") {
			throw new InvalidValueError("createJwk needs publicKey and privateKey strings.");
		}
		return inTransaction(driver, "createJwk", async (tx) => {
			const row = await lockedVault(tx);
			const key = await unlock(row);
			const version = Number(row.version);
			const alg = data.alg ?? null;
			const [live] = await run<KeyRow>(tx, "createJwk", s.liveKey, [vault, alg, new Date()]);
			if (live) {
				const { bound, privateKey } = await openKey(key, vault, schema, version, live);
				return toJwk(bound, privateKey);
			}
			const bound: KeyBinding = {
				vault,
				id: globalThis.crypto.randomUUID(),
				version,
				publicKey: data.publicKey,
				alg,
				crv: data.crv ?? null,
				createdAt: data.createdAt instanceof Date ? data.createdAt : new Date(),
				expiresAt: data.expiresAt instanceof Date ? data.expiresAt : null,
			};
			const ciphertext = await seal(key, data.privateKey, keyAad(bound));
			await run(tx, "createJwk", s.insertKey, [
				bound.id,
				vault,
				version,
				bound.publicKey,
				ciphertext,
				bound.alg,
				bound.crv,
				bound.createdAt,
				bound.expiresAt,
			]);
			return toJwk(bound, data.privateKey);
		});
	};

	const jwtAdapter = {
		[STORE_MARK]: "keyStore",
		getJwks: () => getJwks(),
		createJwk: (data: Omit<KeystoreJwk, "id">) => createJwk(data),
	} as KeystoreJwtAdapter;

	return {
		jwtAdapter,
		async open() {
			const [row] = await run<VaultRow>(driver, "open", s.all.text, [vault], s.all.name);
			if (row) {
				await unlock(row);
				return;
			}
			await inTransaction(driver, "open", async (tx) => {
				await unlock(await lockedVault(tx));
			});
		},
	};
}

/** Options of {@link rotateKeystorePassword}. */
export interface RotateKeystorePasswordOptions {
	/** The password the vault opens with now. */
	oldPassword: string;
	/** The password it will open with. */
	newPassword: string;
	/** Postgres schema of the key store. Default `public`. */
	schema?: string;
	/** The vault's id. Default `"default"`. */
	vault?: string;
}

/** What {@link rotateKeystorePassword} did. */
export interface RotateKeystorePasswordResult {
	/** The vault's version after the rotation. */
	version: number;
	/** How many keys were re-encrypted. */
	keys: number;
}

/**
 * Change the keystore password: check the old one, derive a data key from the
 * new one and a new salt, re-encrypt every key under it and bump the vault's
 * version, all in one transaction holding the vault row's lock (for about one
 * key derivation, some 0.5 s; JWT signing and JWKS reads go on meanwhile, only
 * minting a key waits). Any key that
 * fails its integrity check aborts the rotation with nothing changed.
 * Processes still running with the old password get {@link KeystorePasswordError}
 * from then on; restart them with the new one.
 */
export async function rotateKeystorePassword(
	driver: Driver,
	options: RotateKeystorePasswordOptions,
): Promise<RotateKeystorePasswordResult> {
	checkPassword(options.oldPassword, "old keystore password");
	checkPassword(options.newPassword, "new keystore password");
	const schema = options.schema ?? "public";
	const vault = options.vault ?? DEFAULT_VAULT;
	const s = statementsFor(schema);
	const where = describe(schema, vault);
	// The old password is checked before anything is locked or derived, so a wrong one fails fast.
	const [seen] = await run<VaultRow>(driver, "rotate", s.all.text, [vault], s.all.name);
	if (!seen) throw new KeystoreNotFoundError(where);
	await unlockVault(vault, schema, seen, options.oldPassword);
	return inTransaction(driver, "rotate", async (tx) => {
		const [row] = await run<VaultRow>(tx, "rotate", s.lockVault, [vault]);
		if (!row) throw new KeystoreNotFoundError(where);
		// Unchanged since the check above unless another rotation committed in between (then this one fails).
		const oldKey = await unlockVault(vault, schema, row, options.oldPassword);
		const oldVersion = Number(row.version);
		const rows = await run<KeyRow>(tx, "rotate", s.keys, [vault]);
		const opened = await Promise.all(rows.map((k) => openKey(oldKey, vault, schema, oldVersion, k)));
		const salt = newSalt();
		const iterations = KEYSTORE_ITERATIONS;
		const key = await dataKey(vault, salt, iterations, options.newPassword);
		const version = oldVersion + 1;
		const verifier = await makeVerifier(key, verifierAad(vault, version, salt, iterations));
		const ciphertexts = await Promise.all(
			opened.map(({ bound, privateKey }) => seal(key, privateKey, keyAad({ ...bound, version }))),
		);
		await run(tx, "rotate", s.rotateVault, [vault, salt, iterations, version, verifier]);
		if (opened.length > 0) {
			const ids = opened.map(({ bound }) => bound.id);
			const updated = await tx.query(s.rotateKeys, [vault, version, ids, ciphertexts]).catch((error: unknown) => {
				throw toQueryError("key store rotate", KEYSTORE_KEY_TABLE, error);
			});
			if (updated.rowCount !== opened.length) throw new KeystoreIntegrityError("The key set", where);
		}
		return { version, keys: opened.length };
	});
}
