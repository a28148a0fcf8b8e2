/** The key store's typed errors; messages name the vault but never a password or key. */
import { AuthpgError } from "../errors.js";

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
