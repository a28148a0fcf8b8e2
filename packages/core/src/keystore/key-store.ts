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
 *
 * This module is the public API; the tables are in `keystore-table.ts`,
 * opening a vault in `keystore-vault.ts` and password rotation in
 * `keystore-rotate.ts`.
 */
import type { Driver } from "../driver/contract.js";
import { InvalidValueError } from "../errors.js";
import { STORE_MARK } from "../stores/tables.js";
import { KEYSTORE_ITERATIONS, type KeyBinding, keyAad, seal } from "./crypto.js";
import { inTransaction, type KeyRow, run, type VaultRow } from "./table.js";
import { checkPassword, lockedVault, openKey, vaultRef, vaultUnlocker } from "./vault.js";

export {
	KeystoreIntegrityError,
	KeystoreNotConfiguredError,
	KeystoreNotFoundError,
	KeystorePasswordError,
} from "./errors.js";
export {
	type RotateKeystorePasswordOptions,
	type RotateKeystorePasswordResult,
	rotateKeystorePassword,
} from "./rotate-password.js";
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
	const ref = vaultRef(options, true);
	const { vault, s } = ref;
	const unlock = vaultUnlocker(ref, password);

	const getJwks = async (): Promise<KeystoreJwk[]> => {
		const rows = await run<VaultRow & KeyRow>(driver, "getJwks", s.all.text, [vault], s.all.name);
		const first = rows[0];
		if (!first) return [];
		const key = await unlock(first);
		const version = Number(first.version);
		const keys = rows.filter((row) => row.id !== null);
		const opened = await Promise.all(keys.map((row) => openKey(key, ref, version, row)));
		return opened.map(({ bound, privateKey }) => toJwk(bound, privateKey));
	};

	const createJwk = async (data: Omit<KeystoreJwk, "id">): Promise<KeystoreJwk> => {
		if (typeof data?.publicKey !== "string" || typeof data.privateKey !== "string") {
			throw new InvalidValueError("createJwk needs publicKey and privateKey strings.");
		}
		return inTransaction(driver, "createJwk", async (tx) => {
			const row = await lockedVault(tx, ref, password);
			const key = await unlock(row);
			const version = Number(row.version);
			const alg = data.alg ?? null;
			const [live] = await run<KeyRow>(tx, "createJwk", s.liveKey, [vault, alg, new Date()]);
			if (live) {
				const { bound, privateKey } = await openKey(key, ref, version, live);
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
				await unlock(await lockedVault(tx, ref, password));
			});
		},
	};
}
