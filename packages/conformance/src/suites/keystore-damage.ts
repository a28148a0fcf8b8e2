import {
	AuthpgError,
	applyMigrations,
	type Driver,
	KeystoreIntegrityError,
	KeystorePasswordError,
	keyStore,
} from "@authpg/core";
import { beforeAll, describe, expect, it } from "vitest";

const NS = "authpg_keystore_damage";
const KEYS = `${NS}.authpg_keystore_key`;
const VAULTS = `${NS}.authpg_keystore`;
const PASSWORD = "keystore damage password: never in a message";

/**
 * A vault or key row that is truncated, emptied or replaced with garbage
 * (a bad restore, a hand edit) fails with the key store's typed errors,
 * and the message carries neither key material nor the password.
 */
export function keystoreDamageSuite(driver: () => Driver) {
	describe("key store: truncated and garbled rows", () => {
		beforeAll(async () => {
			await driver().query(`drop schema if exists ${NS} cascade`, []);
			await applyMigrations(driver(), {}, { schema: NS, stores: ["keyStore"] });
		});

		it("every damaged column gets KeystoreIntegrityError or KeystorePasswordError, without key material or password", async () => {
			const store = keyStore(driver(), { password: PASSWORD, schema: NS, vault: "damage" });
			const jwk = await store.jwtAdapter.createJwk({
				publicKey: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "public-damage" }),
				privateKey: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "public-damage", d: "PRIVATE-damage-d" }),
				createdAt: new Date(),
				alg: "EdDSA",
			});
			const intact = await store.jwtAdapter.getJwks();
			const [key] = (
				await driver().query<{ ciphertext: string }>(`select ciphertext from ${KEYS} where id = $1`, [jwk.id])
			).rows;
			const [vault] = (
				await driver().query<{ salt: string; verifier: string }>(
					`select salt, verifier from ${VAULTS} where vault_id = 'damage'`,
					[],
				)
			).rows;
			const damaged = (text: string) => [
				["emptied", ""],
				["truncated to half", text.slice(0, Math.floor(text.length / 2))],
				["truncated by one character", text.slice(0, -1)],
				["not base64", "!!! not base64 at all !!!"],
				["doubled", text + text],
			];
			const cases: [string, string, string, unknown[]][] = [];
			for (const [how, value] of damaged(key!.ciphertext)) {
				cases.push([
					`ciphertext ${how}`,
					`update ${KEYS} set ciphertext = $2 where id = $1`,
					key!.ciphertext,
					[jwk.id, value],
				]);
			}
			for (const [how, value] of damaged(vault!.verifier)) {
				cases.push([
					`verifier ${how}`,
					`update ${VAULTS} set verifier = $1 where vault_id = 'damage'`,
					vault!.verifier,
					[value],
				]);
			}
			for (const [how, value] of damaged(vault!.salt)) {
				cases.push([`salt ${how}`, `update ${VAULTS} set salt = $1 where vault_id = 'damage'`, vault!.salt, [value]]);
			}
			for (const [label, statement, original, params] of cases) {
				await driver().query(statement, params);
				// A new store, as a restarted process would have: nothing derived or cached yet.
				const fresh = keyStore(driver(), { password: PASSWORD, schema: NS, vault: "damage" });
				const error = await fresh.jwtAdapter.getJwks().then(
					() => undefined,
					(e: unknown) => e,
				);
				expect(error, label).toBeInstanceOf(AuthpgError);
				expect(error, label).toSatisfy(
					(e) => e instanceof KeystoreIntegrityError || e instanceof KeystorePasswordError,
				);
				const message = (error as Error).message;
				expect(message, label).not.toContain("PRIVATE-damage");
				expect(message, label).not.toContain(PASSWORD);
				expect(message, label).not.toContain(original);
				// Restore the column: the same call reads the keys again.
				await driver().query(statement, [...params.slice(0, -1), original]);
				const restored = keyStore(driver(), { password: PASSWORD, schema: NS, vault: "damage" });
				expect(await restored.jwtAdapter.getJwks(), label).toEqual(intact);
			}
		});
	});
}
