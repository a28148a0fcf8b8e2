/**
 * Opening a vault: finding it (schema, vault id), proving the password
 * against its verifier, creating it on first use, and opening the keys sealed
 * under its data key. Shared by the key store and password rotation.
 */
import type { Driver } from "../driver/contract.js";
import { InvalidValueError } from "../errors.js";
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
	unseal,
	verifierAad,
} from "./crypto.js";
import { KeystoreIntegrityError, KeystoreNotFoundError, KeystorePasswordError } from "./errors.js";
import { type KeyRow, run, type Statements, statementsFor, type VaultRow } from "./table.js";

const DEFAULT_VAULT = "default";

/** One vault: where it lives, its statements, and how errors name it. */
export interface VaultRef {
	schema: string;
	vault: string;
	s: Statements;
	where: string;
}

/**
 * The vault named by options (defaults: schema `public`, vault `"default"`).
 * With `checkId`, an empty or non-string vault id is refused before anything
 * is compiled for the schema.
 */
export function vaultRef(
	options: { schema?: string | undefined; vault?: string | undefined },
	checkId = false,
): VaultRef {
	const schema = options.schema ?? "public";
	const vault = options.vault ?? DEFAULT_VAULT;
	if (checkId && (typeof vault !== "string" || vault.length === 0))
		throw new InvalidValueError("The vault id must be a non-empty string.");
	return { schema, vault, s: statementsFor(schema), where: `key store vault "${vault}" (schema "${schema}")` };
}

/** Refuse a password that is not a non-empty string, naming `what` (never its value). */
export function checkPassword(password: unknown, what: string): asserts password is string {
	if (typeof password !== "string" || password.length === 0) {
		throw new InvalidValueError(`The ${what} must be a non-empty string.`);
	}
}

/** A fresh salt, data key and verifier for `password` at `version` of the vault. */
export async function newVaultKey(vault: string, version: number, password: string) {
	const salt = newSalt();
	const iterations = KEYSTORE_ITERATIONS;
	const key = await dataKey(vault, salt, iterations, password);
	const verifier = await makeVerifier(key, verifierAad(vault, version, salt, iterations));
	return { salt, iterations, key, verifier };
}

/** Derive the vault's data key for `password` and check it against the verifier. */
export async function unlockVault({ vault, where }: VaultRef, row: VaultRow, password: string): Promise<DataKey> {
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

const sameVault = (a: VaultRow, b: VaultRow) =>
	a.salt === b.salt &&
	Number(a.iterations) === Number(b.iterations) &&
	Number(a.version) === Number(b.version) &&
	a.verifier === b.verifier;

/**
 * {@link unlockVault} for one process's password, remembering the vault state
 * last checked and what came of it: a wrong password is not derived again (and
 * again) until the vault row changes.
 */
export function vaultUnlocker(ref: VaultRef, password: string): (row: VaultRow) => Promise<DataKey> {
	let checked: { row: VaultRow; key?: DataKey; error?: unknown } | undefined;
	return async (row) => {
		if (!checked || !sameVault(checked.row, row)) {
			const state: VaultRow = {
				salt: row.salt,
				iterations: row.iterations,
				version: row.version,
				verifier: row.verifier,
			};
			try {
				checked = { row: state, key: await unlockVault(ref, state, password) };
			} catch (error) {
				checked = { row: state, error };
			}
		}
		if (checked.error !== undefined) throw checked.error;
		return checked.key!;
	};
}

/** The vault row, locked for this transaction; created (under an advisory lock) when missing. */
export async function lockedVault(
	tx: Driver,
	{ schema, vault, s, where }: VaultRef,
	password: string,
): Promise<VaultRow> {
	const [found] = await run<VaultRow>(tx, "lock vault", s.lockVault, [vault]);
	if (found) return found;
	// One creator at a time: the others wait here and then find its vault, so
	// they derive from the salt that won rather than from one of their own.
	await run(tx, "lock vault creation", s.creationLock, [`authpg:keystore:${schema}:${vault}`]);
	const [raced] = await run<VaultRow>(tx, "lock vault", s.lockVault, [vault]);
	if (raced) return raced;
	const { salt, iterations, verifier } = await newVaultKey(vault, 1, password);
	await run(tx, "create vault", s.createVault, [vault, salt, iterations, verifier]);
	const [created] = await run<VaultRow>(tx, "lock vault", s.lockVault, [vault]);
	if (!created) throw new KeystoreNotFoundError(where);
	return created;
}

const toDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));

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

/** Decrypt a key row sealed under `key` at the vault's `version`; a row that fails its check is an integrity error. */
export async function openKey(key: DataKey, { vault, where }: VaultRef, version: number, row: KeyRow) {
	const bound = binding(vault, version, row);
	const privateKey = Number(row.key_version) === version ? await unseal(key, row.ciphertext, keyAad(bound)) : undefined;
	if (privateKey === undefined) throw new KeystoreIntegrityError(`Key "${row.id}"`, where);
	return { bound, privateKey };
}
