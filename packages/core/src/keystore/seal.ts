/**
 * The stored formats of sealed and hashed fields, on WebCrypto only:
 *
 * - sealed: `authpg:s1:<key id>:<iv b64url>:<ciphertext and tag b64url>`,
 *   AES-256-GCM under a field data key, with the model, field and row id as
 *   authenticated data (a ciphertext copied to another row or column fails to open);
 * - hashed: `authpg:h1:<HMAC-SHA-256 b64url>` under the field hash key, over the
 *   model, field and value (one value hashes differently in two columns).
 *
 * The key id in a sealed value is what lets readers accept old and new keys
 * while a rotation re-seals (see `field-keys.ts`).
 */
import type { DataKey } from "./crypto.js";

/** The prefix of every sealed value. */
export const SEALED_PREFIX = "authpg:s1:";
/** The prefix of every hashed value. */
export const HASHED_PREFIX = "authpg:h1:";

const IV_BYTES = 12;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });
const subtle = () => globalThis.crypto.subtle;

/** base64url without padding, without Node's Buffer (the core runs on edge runtimes). */
export function toBase64Url(bytes: Uint8Array): string {
	let binary = "";
	for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
	return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decode base64url (padding optional); `undefined` when the text is not base64url. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
	if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
	try {
		const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
		const bytes = new Uint8Array(binary.length);
		for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
		return bytes;
	} catch {
		return undefined;
	}
}

/**
 * The authenticated data of one sealed value: Better Auth's model and field
 * keys (not the table and column names, so renaming a table through
 * `modelName` or `usePlural` does not lock its values) and the row id.
 */
export const fieldAad = (model: string, field: string, rowId: string) =>
	utf8.encode(JSON.stringify(["authpg-sealed-field", model, field, rowId]));

/** Whether `value` is in the sealed format (it may still fail to open). */
export const isSealed = (value: unknown): value is string =>
	typeof value === "string" && value.startsWith(SEALED_PREFIX);

/** Whether `value` is in the hashed format. */
export const isHashed = (value: unknown): value is string =>
	typeof value === "string" && value.startsWith(HASHED_PREFIX);

/** The key id of a sealed value, or undefined when it is not in the sealed format. */
export function sealedKeyId(value: string): string | undefined {
	if (!value.startsWith(SEALED_PREFIX)) return undefined;
	const end = value.indexOf(":", SEALED_PREFIX.length);
	return end > SEALED_PREFIX.length ? value.slice(SEALED_PREFIX.length, end) : undefined;
}

/** Seal `plaintext` under `key` (id `keyId`) bound to `aad`. */
export async function sealField(key: DataKey, keyId: string, plaintext: string, aad: Uint8Array): Promise<string> {
	const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
	const body = await subtle().encrypt(
		{ name: "AES-GCM", iv, additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: 128 },
		key,
		utf8.encode(plaintext),
	);
	return `${SEALED_PREFIX}${keyId}:${toBase64Url(iv)}:${toBase64Url(new Uint8Array(body))}`;
}

/** Open a value {@link sealField} made; `undefined` when it is malformed or does not authenticate under `key` and `aad`. */
export async function openField(key: DataKey, sealed: string, aad: Uint8Array): Promise<string | undefined> {
	const parts = sealed.slice(SEALED_PREFIX.length).split(":");
	if (parts.length !== 3) return undefined;
	const iv = fromBase64Url(parts[1]!);
	const body = fromBase64Url(parts[2]!);
	if (!iv || iv.length !== IV_BYTES || !body) return undefined;
	try {
		const plain = await subtle().decrypt(
			{ name: "AES-GCM", iv, additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: 128 },
			key,
			body,
		);
		return fromUtf8.decode(plain);
	} catch {
		return undefined;
	}
}

/** The keyed hash of `value` in `model.field` under the HMAC key `key`. */
export async function hashField(key: DataKey, model: string, field: string, value: string): Promise<string> {
	const mac = await subtle().sign(
		"HMAC",
		key,
		utf8.encode(JSON.stringify(["authpg-hashed-field", model, field, value])),
	);
	return `${HASHED_PREFIX}${toBase64Url(new Uint8Array(mac))}`;
}
