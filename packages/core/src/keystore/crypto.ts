/**
 * The key store's cryptography, on WebCrypto only (`globalThis.crypto.subtle`,
 * present on Node, Workers, Vercel Edge and Deno): PBKDF2-SHA256 turns the
 * keystore password and a vault's salt into an AES-256-GCM data key, which
 * seals each private key with the fields of its row as authenticated data.
 */

/** PBKDF2-SHA256 iterations for a new vault (OWASP's 2023 recommendation). */
export const KEYSTORE_ITERATIONS = 600_000;

/**
 * Iterations a stored vault may claim. Below the floor the vault was not made
 * by us; far above it a tampered row could make every process burn minutes
 * of CPU deriving a key.
 */
export const ITERATIONS_RANGE = { min: KEYSTORE_ITERATIONS, max: 100 * KEYSTORE_ITERATIONS } as const;

/** What a vault's verifier seals; decrypting it proves the password before any key is read. */
const VERIFIER_PLAINTEXT = "authpg keystore verifier v1";
const SEAL_VERSION = "v1";
const IV_BYTES = 12;
const SALT_BYTES = 16;
const CACHE_LIMIT = 32;

/** A WebCrypto key (named here: `CryptoKey` is a DOM global the core's type libraries leave out). */
export type DataKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.deriveKey>>;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });
const subtle = () => globalThis.crypto.subtle;

/** Standard base64 without Node's Buffer (the core runs on edge runtimes). */
export function toBase64(bytes: Uint8Array): string {
	let binary = "";
	for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
	return btoa(binary);
}

/** Decode standard base64; `undefined` when the text is not base64. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
	try {
		const binary = atob(text);
		const bytes = new Uint8Array(binary.length);
		for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
		return bytes;
	} catch {
		return undefined;
	}
}

/** A fresh random salt for a vault, base64. */
export function newSalt(): string {
	return toBase64(globalThis.crypto.getRandomValues(new Uint8Array(SALT_BYTES)));
}

/** A password as bytes; NFC so the same password typed or pasted from different sources derives the same key. */
const passwordBytes = (password: string) => utf8.encode(password.normalize("NFC"));

// On globalThis so a module re-evaluated by hot reload (Next.js, Vite) finds
// the keys it derived before instead of spending another PBKDF2 run per edit.
const CACHE = Symbol.for("authpg.keystore.dataKeys");

function cache(): Map<string, Promise<DataKey>> {
	const holder = globalThis as Record<symbol, Map<string, Promise<DataKey>> | undefined>;
	let map = holder[CACHE];
	if (!map) {
		map = new Map();
		holder[CACHE] = map;
	}
	return map;
}

async function cacheKey(vault: string, salt: string, iterations: number, password: string): Promise<string> {
	// A salted digest rather than the password itself, so the map's keys never show it.
	const digest = await subtle().digest("SHA-256", utf8.encode(`${salt}\u0000${password.normalize("NFC")}`));
	return JSON.stringify([vault, salt, iterations, toBase64(new Uint8Array(digest))]);
}

/**
 * The AES-256-GCM data key of a vault, derived once per process for each
 * (vault, salt, iterations, password) and cached; concurrent callers share
 * one derivation. Non-extractable: nothing can read it back out.
 */
export async function dataKey(vault: string, salt: string, iterations: number, password: string): Promise<DataKey> {
	const key = await cacheKey(vault, salt, iterations, password);
	const map = cache();
	let derived = map.get(key);
	if (!derived) {
		derived = derive(salt, iterations, password);
		map.set(key, derived);
		if (map.size > CACHE_LIMIT) map.delete(map.keys().next().value as string);
		derived.catch(() => map.delete(key));
	}
	return derived;
}

async function derive(salt: string, iterations: number, password: string): Promise<DataKey> {
	const saltBytes = fromBase64(salt);
	if (!saltBytes) throw new TypeError("vault salt is not base64");
	const base = await subtle().importKey("raw", passwordBytes(password), "PBKDF2", false, ["deriveKey"]);
	return subtle().deriveKey(
		{ name: "PBKDF2", hash: "SHA-256", salt: saltBytes, iterations },
		base,
		{ name: "AES-GCM", length: 256 },
		false,
		["encrypt", "decrypt"],
	);
}

/** Encrypt `plaintext` bound to `aad`: `v1.<iv>.<ciphertext and tag>`, base64 parts. */
export async function seal(key: DataKey, plaintext: string, aad: string): Promise<string> {
	const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
	const sealed = await subtle().encrypt(
		{ name: "AES-GCM", iv, additionalData: utf8.encode(aad), tagLength: 128 },
		key,
		utf8.encode(plaintext),
	);
	return `${SEAL_VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

/** Decrypt what {@link seal} made with the same key and `aad`; `undefined` when anything does not match. */
export async function unseal(key: DataKey, sealed: string, aad: string): Promise<string | undefined> {
	const [version, ivText, bodyText, extra] = sealed.split(".");
	if (version !== SEAL_VERSION || ivText === undefined || bodyText === undefined || extra !== undefined) return;
	const iv = fromBase64(ivText);
	const body = fromBase64(bodyText);
	if (!iv || iv.length !== IV_BYTES || !body) return;
	try {
		const plain = await subtle().decrypt(
			{ name: "AES-GCM", iv, additionalData: utf8.encode(aad), tagLength: 128 },
			key,
			body,
		);
		return fromUtf8.decode(plain);
	} catch {
		return;
	}
}

/** The authenticated data of a vault's verifier: the whole vault row but the verifier itself. */
export const verifierAad = (vault: string, version: number, salt: string, iterations: number) =>
	JSON.stringify(["authpg-keystore-verifier", vault, version, salt, iterations]);

/** A vault's verifier under `key`. */
export const makeVerifier = (key: DataKey, aad: string) => seal(key, VERIFIER_PLAINTEXT, aad);

/** Whether `verifier` opens under `key` and `aad`. */
export async function checkVerifier(key: DataKey, verifier: string, aad: string): Promise<boolean> {
	return (await unseal(key, verifier, aad)) === VERIFIER_PLAINTEXT;
}

/** The fields of a key row bound to its ciphertext, so a row edited or moved fails to decrypt. */
export interface KeyBinding {
	vault: string;
	id: string;
	version: number;
	publicKey: string;
	alg: string | null;
	crv: string | null;
	createdAt: Date;
	expiresAt: Date | null;
}

/** The authenticated data of a key row. */
export const keyAad = (k: KeyBinding) =>
	JSON.stringify([
		"authpg-keystore-key",
		k.vault,
		k.id,
		k.version,
		k.publicKey,
		k.alg,
		k.crv,
		k.createdAt.getTime(),
		k.expiresAt?.getTime() ?? null,
	]);
