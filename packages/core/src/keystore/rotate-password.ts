/** Changing the keystore password: re-sealing every key of a vault under a new data key. */
import type { Driver } from "../driver/contract.js";
import { KEYSTORE_KEY_TABLE } from "../stores/tables.js";
import { keyAad, seal } from "./crypto.js";
import { KeystoreIntegrityError, KeystoreNotFoundError } from "./errors.js";
import { rewrapFieldKeys } from "./field-keys.js";
import { execute, inTransaction, type KeyRow, run, type VaultRow } from "./table.js";
import { checkPassword, newVaultKey, openKey, unlockVault, vaultRef } from "./vault.js";

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
	const ref = vaultRef(options);
	const { vault, s, where } = ref;
	// The old password is checked before anything is locked or derived, so a wrong one fails fast.
	const [seen] = await run<VaultRow>(driver, "rotate", s.all.text, [vault], s.all.name);
	if (!seen) throw new KeystoreNotFoundError(where);
	await unlockVault(ref, seen, options.oldPassword);
	return inTransaction(driver, "rotate", async (tx) => {
		const [row] = await run<VaultRow>(tx, "rotate", s.lockVault, [vault]);
		if (!row) throw new KeystoreNotFoundError(where);
		// Unchanged since the check above unless another rotation committed in between (then this one fails).
		const oldKey = await unlockVault(ref, row, options.oldPassword);
		const oldVersion = Number(row.version);
		const rows = await run<KeyRow>(tx, "rotate", s.keys, [vault]);
		const opened = await Promise.all(rows.map((k) => openKey(oldKey, ref, oldVersion, k)));
		const version = oldVersion + 1;
		const { salt, iterations, key, verifier } = await newVaultKey(vault, version, options.newPassword);
		const ciphertexts = await Promise.all(
			opened.map(({ bound, privateKey }) => seal(key, privateKey, keyAad({ ...bound, version }))),
		);
		await run(tx, "rotate", s.rotateVault, [vault, salt, iterations, version, verifier]);
		if (opened.length > 0) {
			const ids = opened.map(({ bound }) => bound.id);
			const params = [vault, version, ids, ciphertexts];
			const updated = await execute(tx, "rotate", s.rotateKeys, params, undefined, KEYSTORE_KEY_TABLE);
			if (updated.rowCount !== opened.length) throw new KeystoreIntegrityError("The key set", where);
		}
		// The field keys of sealed fields follow the password too, in the same transaction.
		await rewrapFieldKeys(tx, ref, { key: oldKey, version: oldVersion }, { key, version });
		return { version, keys: opened.length };
	});
}
