import {
	applyMigrations,
	type Driver,
	KeystoreIntegrityError,
	type KeystoreJwk,
	KeystoreNotConfiguredError,
	KeystoreNotFoundError,
	KeystorePasswordError,
	keyStore,
	postgresAdapter,
	rotateKeystorePassword,
	storesIn,
} from "@authpg/core";
import { storesFor } from "@authpg/core/driver";
import { type BetterAuthOptions, betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

const NS = "authpg_keystore_test";
const STORES_NS = "authpg_keystore_stores_test";
const KEYS = `${NS}.authpg_keystore_key`;
const VAULTS = `${NS}.authpg_keystore`;
const PASSWORD = "conformance keystore password, the first";
const NEW_PASSWORD = "conformance keystore password, the second";
const BASE_URL = "http://localhost:3000";
const SECRET = "authpg-conformance-secret-0123456789abcdef";

/** Forget the data keys derived so far, as a new process would. */
const forgetDerivedKeys = () =>
	(globalThis as Record<symbol, Map<unknown, unknown> | undefined>)[Symbol.for("authpg.keystore.dataKeys")]?.clear();

const spies: { mockRestore(): void }[] = [];
/** Count PBKDF2 derivations from here on (until the test ends). */
const countDerivations = () => {
	const spy = vi.spyOn(globalThis.crypto.subtle, "deriveKey");
	spies.push(spy);
	return spy;
};

type Adapter = ReturnType<typeof keyStore>["jwtAdapter"];

const authWith = (driver: Driver, adapter: Adapter, jwks: { disablePrivateKeyEncryption?: boolean } = {}) =>
	betterAuth({
		database: postgresAdapter(driver, { schema: NS }),
		baseURL: BASE_URL,
		secret: SECRET,
		emailAndPassword: { enabled: true },
		plugins: [jwt({ adapter, jwks })],
	});

async function jwksOf(auth: ReturnType<typeof authWith>): Promise<JSONWebKeySet> {
	const response = await auth.handler(new Request(`${BASE_URL}/api/auth/jwks`));
	expect(response.status).toBe(200);
	return (await response.json()) as JSONWebKeySet;
}

async function tokenOf(auth: ReturnType<typeof authWith>, cookie: string): Promise<string> {
	return (await auth.api.getToken({ headers: new Headers({ cookie }) })).token;
}

const verify = (token: string, jwks: JSONWebKeySet) =>
	jwtVerify(token, createLocalJWKSet(jwks), { issuer: BASE_URL, audience: BASE_URL });

/** A synthetic key row for the tests that only store and read (no signing). */
const fakeKey = (label: string, alg: "EdDSA" | "ES256" = "EdDSA"): Omit<KeystoreJwk, "id"> => ({
	publicKey: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: `public-${label}` }),
	privateKey: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: `public-${label}`, d: `private-${label}` }),
	createdAt: new Date(),
	alg,
});

/** The key store: JWT signing keys sealed at rest, under a password that can be rotated. */
export function keystoreSuite(driver: () => Driver) {
	describe("key store", () => {
		const jwtOptions = (adapter: Adapter): BetterAuthOptions => ({
			emailAndPassword: { enabled: true },
			plugins: [jwt({ adapter, jwks: { disablePrivateKeyEncryption: true } })],
		});
		let ks: ReturnType<typeof keyStore>;
		let cookie: string;
		let firstToken: string;
		let firstJwks: JSONWebKeySet;
		const count = async (table: string, where = "true", params: unknown[] = []) =>
			(await driver().query<{ n: number }>(`select count(*)::int as n from ${table} where ${where}`, params)).rows[0]!
				.n;

		beforeAll(async () => {
			await driver().query(`drop schema if exists ${NS} cascade`, []);
			await driver().query(`drop schema if exists ${STORES_NS} cascade`, []);
			ks = keyStore(driver(), { password: PASSWORD, schema: NS });
			// No `stores` option: the marked adapter inside jwt() is what asks for the tables.
			await applyMigrations(driver(), jwtOptions(ks.jwtAdapter), { schema: NS });
		});
		afterEach(() => {
			for (const spy of spies.splice(0)) spy.mockRestore();
		});

		it("the planner creates the key store's tables when its adapter is plugged into jwt()", async () => {
			expect(storesIn(jwtOptions(ks.jwtAdapter))).toEqual(["keyStore"]);
			const { rows } = await driver().query<{ name: string; persistence: string }>(
				`select c.relname as "name", c.relpersistence as "persistence" from pg_class c join pg_namespace n on n.oid = c.relnamespace
				  where n.nspname = $1 and c.relname like 'authpg_keystore%' and c.relkind = 'r' order by 1`,
				[NS],
			);
			expect(rows).toEqual([
				{ name: "authpg_keystore", persistence: "p" },
				{ name: "authpg_keystore_field_key", persistence: "p" },
				{ name: "authpg_keystore_key", persistence: "p" },
			]);
		});

		it("a JWT issued by Better Auth verifies against its JWKS endpoint", async () => {
			const derivations = countDerivations();
			const auth = authWith(driver(), ks.jwtAdapter, { disablePrivateKeyEncryption: true });
			const { headers, response } = await auth.api.signUpEmail({
				body: { email: "keystore-user@example.com", password: "correct horse battery", name: "Keys" },
				returnHeaders: true,
			});
			cookie = headers
				.getSetCookie()
				.map((c) => c.split(";")[0])
				.join("; ");
			firstToken = await tokenOf(auth, cookie);
			firstJwks = await jwksOf(auth);
			const { payload, protectedHeader } = await verify(firstToken, firstJwks);
			expect(payload.sub).toBe(response.user.id);
			const { rows } = await driver().query<{ id: string; version: number }>(`select id, version from ${KEYS}`, []);
			expect(rows).toEqual([{ id: protectedHeader.kid, version: 1 }]);
			expect(firstJwks.keys.map((k) => k.kid)).toEqual([protectedHeader.kid]);
			// The vault was created on first use, its data key derived once for all of the above.
			expect(await count(VAULTS)).toBe(1);
			expect(derivations).toHaveBeenCalledTimes(1);
		});

		it("a dump of every table in the schema holds no private JWK parameter and not the password", async () => {
			const [stored] = await ks.jwtAdapter.getJwks();
			// The premise: what Better Auth handed the store (its own encryption disabled) is the clear private JWK.
			expect(stored!.privateKey).toContain('"d":');
			const d = (JSON.parse(stored!.privateKey) as { d: string }).d;
			const { rows: tables } = await driver().query<{ name: string }>(
				"select table_name as name from information_schema.tables where table_schema = $1 order by 1",
				[NS],
			);
			expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["authpg_keystore", "authpg_keystore_key"]));
			let dump = "";
			for (const { name } of tables) {
				const { rows } = await driver().query<{ row: string }>(
					`select row_to_json(t)::text as "row" from ${NS}."${name}" t`,
					[],
				);
				dump += rows.map((r) => r.row).join("\n");
			}
			expect(dump).toContain((JSON.parse(stored!.publicKey) as { x: string }).x);
			expect(dump).not.toContain('"d":');
			expect(dump).not.toContain('\\"d\\":');
			expect(dump).not.toContain(d);
			expect(dump).not.toContain(PASSWORD);
		});

		it("a restart with the same password reads the same keys; one derivation per process", async () => {
			const before = await ks.jwtAdapter.getJwks();
			forgetDerivedKeys();
			const derivations = countDerivations();
			const restarted = keyStore(driver(), { password: PASSWORD, schema: NS });
			await restarted.open();
			expect(await restarted.jwtAdapter.getJwks()).toEqual(before);
			const auth = authWith(driver(), restarted.jwtAdapter, { disablePrivateKeyEncryption: true });
			const token = await tokenOf(auth, cookie);
			expect(decodeProtectedHeader(token).kid).toBe(decodeProtectedHeader(firstToken).kid);
			await verify(token, firstJwks);
			// Yet another instance in the same process reuses the derived key.
			expect(await keyStore(driver(), { password: PASSWORD, schema: NS }).jwtAdapter.getJwks()).toEqual(before);
			expect(derivations).toHaveBeenCalledTimes(1);
		});

		it("a wrong password gets KeystorePasswordError from every entry point, and is not derived again per call", async () => {
			const wrong = "not the keystore password";
			const derivations = countDerivations();
			const locked = keyStore(driver(), { password: wrong, schema: NS });
			const error = await locked.jwtAdapter.getJwks().catch((e: unknown) => e);
			expect(error).toBeInstanceOf(KeystorePasswordError);
			expect((error as KeystorePasswordError).code).toBe("KEYSTORE_PASSWORD");
			expect((error as Error).message).toMatch(
				/does not open key store vault "default" \(schema "authpg_keystore_test"\)/,
			);
			expect((error as Error).message).not.toContain(wrong);
			await expect(locked.open()).rejects.toBeInstanceOf(KeystorePasswordError);
			await expect(locked.jwtAdapter.createJwk(fakeKey("wrong"))).rejects.toBeInstanceOf(KeystorePasswordError);
			const auth = authWith(driver(), locked.jwtAdapter, { disablePrivateKeyEncryption: true });
			await expect(tokenOf(auth, cookie)).rejects.toThrow();
			expect(derivations).toHaveBeenCalledTimes(1);
			expect(await count(KEYS)).toBe(1);
		});

		it("a tampered or moved row gets KeystoreIntegrityError, and reads again once restored", async () => {
			const vault = "tamper";
			const store = keyStore(driver(), { password: PASSWORD, schema: NS, vault });
			const a = await store.jwtAdapter.createJwk(fakeKey("a", "EdDSA"));
			const b = await store.jwtAdapter.createJwk(fakeKey("b", "ES256"));
			expect(a.id).not.toBe(b.id);
			const intact = await store.jwtAdapter.getJwks();
			expect(intact.map((k) => k.privateKey).sort()).toEqual([a.privateKey, b.privateKey].sort());

			const { rows: saved } = await driver().query<Record<string, unknown>>(
				`select id, vault_id, version, public_key, ciphertext, expires_at from ${KEYS} where vault_id = $1`,
				[vault],
			);
			const restore = async () => {
				for (const row of saved) {
					await driver().query(
						`update ${KEYS} set vault_id = $2, version = $3, public_key = $4, ciphertext = $5, expires_at = $6 where id = $1`,
						[row.id, row.vault_id, row.version, row.public_key, row.ciphertext, row.expires_at],
					);
				}
			};
			const flip = (text: string, at: number) =>
				text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
			const ciphertextOf = (id: string) => saved.find((r) => r.id === id)!.ciphertext as string;
			const tamperings: [string, string, unknown[]][] = [
				[
					"ciphertext body",
					"update %K set ciphertext = $2 where id = $1",
					[a.id, flip(ciphertextOf(a.id), ciphertextOf(a.id).length - 5)],
				],
				["iv", "update %K set ciphertext = $2 where id = $1", [a.id, flip(ciphertextOf(a.id), 4)]],
				[
					"swapped ciphertexts",
					"update %K set ciphertext = case id when $1::text then $4::text else $3::text end where id in ($1::text, $2::text)",
					[a.id, b.id, ciphertextOf(a.id), ciphertextOf(b.id)],
				],
				[
					"public key",
					"update %K set public_key = $2 where id = $1",
					[b.id, JSON.stringify({ kty: "OKP", x: "attacker" })],
				],
				["expiry", "update %K set expires_at = now() + interval '10 years' where id = $1", [a.id]],
				["version", "update %K set version = version + 1 where id = $1", [b.id]],
				["moved to another vault", "update %K set vault_id = 'default' where id = $1", [a.id]],
			];
			for (const [label, statement, params] of tamperings) {
				await driver().query(statement.replace("%K", KEYS), params);
				const reader = label === "moved to another vault" ? ks : store;
				const error = await reader.jwtAdapter.getJwks().catch((e: unknown) => e);
				expect(error, label).toBeInstanceOf(KeystoreIntegrityError);
				expect((error as Error).message, label).toMatch(/failed its integrity check/);
				expect((error as Error).message, label).not.toContain("private-");
				await restore();
				expect(await store.jwtAdapter.getJwks(), label).toEqual(intact);
			}

			// The vault row itself: an impossible iteration count, or a verifier that does not open.
			await driver().query(`update ${VAULTS} set iterations = 1000 where vault_id = $1`, [vault]);
			await expect(store.jwtAdapter.getJwks()).rejects.toBeInstanceOf(KeystoreIntegrityError);
			await driver().query(`update ${VAULTS} set iterations = 600000 where vault_id = $1`, [vault]);
			const { rows: vaults } = await driver().query<{ verifier: string }>(
				`select verifier from ${VAULTS} where vault_id = $1`,
				[vault],
			);
			await driver().query(`update ${VAULTS} set verifier = $2 where vault_id = $1`, [
				vault,
				flip(vaults[0]!.verifier, 20),
			]);
			await expect(store.jwtAdapter.getJwks()).rejects.toBeInstanceOf(KeystorePasswordError);
			await driver().query(`update ${VAULTS} set verifier = $2 where vault_id = $1`, [vault, vaults[0]!.verifier]);
			expect(await store.jwtAdapter.getJwks()).toEqual(intact);

			// A rotation that meets a tampered key changes nothing.
			await driver().query(`update ${KEYS} set public_key = 'x' where id = $1`, [b.id]);
			await expect(
				rotateKeystorePassword(driver(), { oldPassword: PASSWORD, newPassword: NEW_PASSWORD, schema: NS, vault }),
			).rejects.toBeInstanceOf(KeystoreIntegrityError);
			await restore();
			const { rows: after } = await driver().query<{ version: number; verifier: string }>(
				`select version, verifier from ${VAULTS} where vault_id = $1`,
				[vault],
			);
			expect(after).toEqual([{ version: 1, verifier: vaults[0]!.verifier }]);
			expect(await store.jwtAdapter.getJwks()).toEqual(intact);
		});

		it("rotation re-encrypts every key in one go: the old password then fails, the new one reads the same keys", async () => {
			const before = await ks.jwtAdapter.getJwks();
			const { rows: old } = await driver().query<{ id: string; ciphertext: string }>(
				`select id, ciphertext from ${KEYS} where vault_id = 'default'`,
				[],
			);
			const { rows: oldVault } = await driver().query<{ salt: string }>(
				`select salt from ${VAULTS} where vault_id = 'default'`,
				[],
			);
			await expect(
				rotateKeystorePassword(driver(), { oldPassword: "guess", newPassword: NEW_PASSWORD, schema: NS }),
			).rejects.toBeInstanceOf(KeystorePasswordError);
			await expect(
				rotateKeystorePassword(driver(), {
					oldPassword: PASSWORD,
					newPassword: NEW_PASSWORD,
					schema: NS,
					vault: "nope",
				}),
			).rejects.toBeInstanceOf(KeystoreNotFoundError);

			expect(
				await rotateKeystorePassword(driver(), { oldPassword: PASSWORD, newPassword: NEW_PASSWORD, schema: NS }),
			).toEqual({ version: 2, keys: 1 });

			const { rows: now } = await driver().query<{ id: string; ciphertext: string; version: number }>(
				`select id, ciphertext, version from ${KEYS} where vault_id = 'default'`,
				[],
			);
			expect(now.map((r) => [r.id, r.version])).toEqual(old.map((r) => [r.id, 2]));
			expect(now[0]!.ciphertext).not.toBe(old[0]!.ciphertext);
			const { rows: newVault } = await driver().query<{ salt: string; version: number }>(
				`select salt, version from ${VAULTS} where vault_id = 'default'`,
				[],
			);
			expect(newVault[0]!.version).toBe(2);
			expect(newVault[0]!.salt).not.toBe(oldVault[0]!.salt);

			// The instance still running with the old password, and a new one with it, both fail.
			await expect(ks.jwtAdapter.getJwks()).rejects.toBeInstanceOf(KeystorePasswordError);
			await expect(keyStore(driver(), { password: PASSWORD, schema: NS }).jwtAdapter.getJwks()).rejects.toBeInstanceOf(
				KeystorePasswordError,
			);

			const rotated = keyStore(driver(), { password: NEW_PASSWORD, schema: NS });
			expect(await rotated.jwtAdapter.getJwks()).toEqual(before);
			const auth = authWith(driver(), rotated.jwtAdapter, { disablePrivateKeyEncryption: true });
			const token = await tokenOf(auth, cookie);
			expect(decodeProtectedHeader(token).kid).toBe(before[0]!.id);
			await verify(token, firstJwks);
			await verify(firstToken, await jwksOf(auth));
		});

		it("concurrent first use creates one vault and one key", async () => {
			const vault = "race";
			const derivations = countDerivations();
			// Twenty processes' worth of key stores, each finding no key and minting its own.
			const stores = Array.from({ length: 20 }, () => keyStore(driver(), { password: PASSWORD, schema: NS, vault }));
			expect(await Promise.all(stores.map((s) => s.jwtAdapter.getJwks()))).toEqual(stores.map(() => []));
			const created = await Promise.all(stores.map((s, i) => s.jwtAdapter.createJwk(fakeKey(`race-${i}`))));
			expect(await count(VAULTS, "vault_id = $1", [vault])).toBe(1);
			const { rows } = await driver().query<{ id: string; public_key: string }>(
				`select id, public_key from ${KEYS} where vault_id = $1`,
				[vault],
			);
			expect(rows).toHaveLength(1);
			expect(new Set(created.map((k) => k.id))).toEqual(new Set([rows[0]!.id]));
			expect(new Set(created.map((k) => k.publicKey))).toEqual(new Set([rows[0]!.public_key]));
			// The losers derived from the winner's salt, sharing the winner's one derivation.
			expect(derivations).toHaveBeenCalledTimes(1);

			// And through Better Auth (its own private-key encryption on): 20 tokens and 5 JWKS requests on an empty vault.
			await driver().query(`delete from ${KEYS} where vault_id = $1`, [vault]);
			const auth = authWith(driver(), keyStore(driver(), { password: PASSWORD, schema: NS, vault }).jwtAdapter);
			const [tokens, sets] = await Promise.all([
				Promise.all(Array.from({ length: 20 }, () => tokenOf(auth, cookie))),
				Promise.all(Array.from({ length: 5 }, () => jwksOf(auth))),
			]);
			const { rows: keys } = await driver().query<{ id: string }>(`select id from ${KEYS} where vault_id = $1`, [
				vault,
			]);
			expect(keys).toHaveLength(1);
			expect(new Set(tokens.map((t) => decodeProtectedHeader(t).kid))).toEqual(new Set([keys[0]!.id]));
			for (const set of sets) expect(set.keys.map((k) => k.kid)).toEqual([keys[0]!.id]);
			for (const token of tokens) await verify(token, sets[0]!);
			expect(derivations).toHaveBeenCalledTimes(1);
		});

		it("stores: keyStore only with keystorePassword, and migrate then creates its tables", async () => {
			const tablesIn = async () =>
				(
					await driver().query<{ name: string }>(
						"select table_name as name from information_schema.tables where table_schema = $1 and table_name like 'authpg_keystore%' order by 1",
						[STORES_NS],
					)
				).rows.map((r) => r.name);
			for (const keystorePassword of [undefined, ""]) {
				const without = storesFor(driver(), { schema: STORES_NS, keystorePassword }, async () => {});
				expect(() => without.keyStore).toThrow(KeystoreNotConfiguredError);
				await without.migrate({});
				expect(await tablesIn()).toEqual([]);
			}
			const stores = storesFor(driver(), { schema: STORES_NS, keystorePassword: PASSWORD }, async () => {});
			expect(stores.keyStore).toBe(stores.keyStore);
			const options = stores.applyTo({ plugins: [jwt({ adapter: stores.keyStore.jwtAdapter })] });
			expect(storesIn(options)).toEqual(["rateLimit", "keyStore"]);
			await stores.migrate({});
			expect(await tablesIn()).toEqual(["authpg_keystore", "authpg_keystore_field_key", "authpg_keystore_key"]);
			// open() creates the vault up front (no key yet), so a wrong password fails at startup.
			await stores.keyStore.open();
			const { rows } = await driver().query<{ vault_id: string; version: number; keys: number }>(
				`select vault_id, version, (select count(*)::int from ${STORES_NS}.authpg_keystore_key) as keys from ${STORES_NS}.authpg_keystore`,
				[],
			);
			expect(rows).toEqual([{ vault_id: "default", version: 1, keys: 0 }]);
		});
	});
}
