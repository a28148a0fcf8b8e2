import {
	type Driver,
	HASHED_PREFIX,
	KeystorePasswordError,
	resealFields,
	rotateFieldKey,
	rotateKeystorePassword,
	SEALED_PREFIX,
	SealedFieldConfigError,
	SealedFieldError,
	SealedFieldQueryError,
	type Stores,
	storesIn,
} from "@authpg/core";
import { storesFor } from "@authpg/core/driver";
import { type BetterAuthOptions, betterAuth } from "better-auth";
import { emailOTP, magicLink } from "better-auth/plugins";
import { beforeAll, describe, expect, it } from "vitest";

const NS = "authpg_seal_test";
const PASSWORD = "conformance seal password, the first";
const BASE_URL = "http://localhost:3000";
const SECRET = "authpg-conformance-secret-0123456789abcdef";
const DAY = 86_400_000;

/** What Better Auth sent out: the secrets a dump must not show. */
interface Outbox {
	reset: string[];
	otp: string[];
	magic: string[];
}

const random = (label: string) => `${label}-${globalThis.crypto.randomUUID()}`;

function authOptions(outbox: Outbox, refreshed: { token?: string }) {
	return {
		baseURL: BASE_URL,
		secret: SECRET,
		emailAndPassword: {
			enabled: true,
			sendResetPassword: async ({ token }) => {
				outbox.reset.push(token);
			},
		},
		socialProviders: {
			github: {
				clientId: "conformance",
				clientSecret: "conformance",
				// Better Auth's refresh path, without a network: the provider's refresh returns fresh tokens.
				refreshAccessToken: async (refreshToken: string) => {
					refreshed.token = refreshToken;
					return {
						accessToken: random("refreshed-access"),
						refreshToken: random("refreshed-refresh"),
						accessTokenExpiresAt: new Date(Date.now() + DAY),
					};
				},
			},
		},
		plugins: [
			emailOTP({
				otpLength: 8,
				sendVerificationOTP: async ({ otp }) => {
					outbox.otp.push(otp);
				},
			}),
			magicLink({
				sendMagicLink: async ({ token }) => {
					outbox.magic.push(token);
				},
			}),
		],
	} satisfies BetterAuthOptions;
}

const authOn = (stores: Stores, options: ReturnType<typeof authOptions>) => betterAuth(stores.applyTo(options));

/** Every row of every table of the namespace, as text: what a dump (or a read-only injection) shows. */
async function dump(driver: Driver, ns: string): Promise<string> {
	const { rows: tables } = await driver.query<{ name: string }>(
		"select tablename as name from pg_catalog.pg_tables where schemaname = $1",
		[ns],
	);
	let text = "";
	for (const { name } of tables) {
		const { rows } = await driver.query<{ row: string }>(`select t::text as "row" from "${ns}"."${name}" t`, []);
		text += rows.map((r) => r.row).join("\n");
	}
	return text;
}

/**
 * Secrets at rest (`seal: true`): OAuth tokens and verification values sealed,
 * token-bearing verification identifiers hashed; Better Auth's own flows still
 * work over them; tampering gives typed errors; queries that could only miss throw.
 */
export function sealedFieldsSuite(driver: () => Driver) {
	describe("sealed fields", () => {
		const outbox: Outbox = { reset: [], otp: [], magic: [] };
		const refreshed: { token?: string } = {};
		const options = authOptions(outbox, refreshed);
		let stores: Stores;
		let auth: ReturnType<typeof authOn>;
		const tokens = {
			accessToken: random("access"),
			refreshToken: random("refresh"),
			idToken: random("id-token"),
		};
		let userId: string;
		let accountId: string;
		const email = `${random("sealed")}@example.com`;
		const password = "correct horse battery staple";
		const newPassword = "another correct horse battery";

		beforeAll(async () => {
			await driver().query(`drop schema if exists ${NS} cascade`, []);
			stores = storesFor(driver(), { schema: NS, keystorePassword: PASSWORD, seal: true }, async () => {});
			await stores.migrate(options);
			auth = authOn(stores, options);
			const signedUp = await auth.api.signUpEmail({ body: { email, password, name: "Sealed" } });
			userId = signedUp.user.id;
			const ctx = await auth.$context;
			// A proven email: the OTP and magic-link sign-ins below would otherwise revoke the links made before the proof.
			await ctx.internalAdapter.updateUser(userId, { emailVerified: true });
			// The adapter path Better Auth's OAuth callback takes to link an account.
			const linked = await ctx.internalAdapter.linkAccount({
				userId,
				providerId: "github",
				accountId: random("github-user"),
				...tokens,
				accessTokenExpiresAt: new Date(Date.now() + DAY),
				scope: "read:user",
			});
			accountId = linked.id;
			await auth.api.requestPasswordReset({ body: { email, redirectTo: "/reset" } });
			await auth.api.sendVerificationOTP({ body: { email, type: "sign-in" } });
			await auth.api.signInMagicLink({ body: { email }, headers: new Headers() });
		});

		it("the planner sees, from the applied options alone, that sealing needs the key store's tables", () => {
			expect(storesIn(stores.applyTo(options))).toContain("keyStore");
			const plain = storesFor(driver(), { schema: NS, keystorePassword: PASSWORD }, async () => {});
			expect(storesIn(plain.applyTo({}))).not.toContain("keyStore");
		});

		it("refuses seal without a keystore password", () => {
			expect(() => storesFor(driver(), { schema: NS, seal: true }, async () => {})).toThrow(SealedFieldConfigError);
		});

		it("a dump of every table holds none of the tokens, codes or the reset token", async () => {
			expect(outbox.reset).toHaveLength(1);
			expect(outbox.otp).toHaveLength(1);
			expect(outbox.magic).toHaveLength(1);
			const text = await dump(driver(), NS);
			for (const secret of [...Object.values(tokens), ...outbox.reset, ...outbox.otp, ...outbox.magic]) {
				expect(text.includes(secret), "a secret is in the clear").toBe(false);
			}
			const { rows } = await driver().query<{ access_token: string; refresh_token: string; id_token: string }>(
				`select "accessToken" as access_token, "refreshToken" as refresh_token, "idToken" as id_token from ${NS}.account where id = $1`,
				[accountId],
			);
			for (const value of Object.values(rows[0]!)) expect(value.startsWith(SEALED_PREFIX)).toBe(true);
			const { rows: verifications } = await driver().query<{ identifier: string; value: string }>(
				`select identifier, value from ${NS}.verification`,
				[],
			);
			expect(verifications.length).toBe(3);
			for (const v of verifications) expect(v.value.startsWith(SEALED_PREFIX)).toBe(true);
			// Reset and magic-link identifiers carry their token: hashed. The OTP's names the email: left clear.
			expect(verifications.filter((v) => v.identifier.startsWith(HASHED_PREFIX))).toHaveLength(2);
			expect(verifications.filter((v) => v.identifier === `sign-in-otp-${email}`)).toHaveLength(1);
		});

		it("the adapter hands Better Auth the clear tokens, and accounts list", async () => {
			const account = await stores.adapter(options).findOne<Record<string, unknown>>({
				model: "account",
				where: [{ field: "id", value: accountId }],
			});
			expect(account).toMatchObject(tokens);
			const { headers } = await auth.api.signInEmail({ body: { email, password }, returnHeaders: true });
			const cookie = headers
				.getSetCookie()
				.map((c) => c.split(";")[0])
				.join("; ");
			const accounts = await auth.api.listUserAccounts({ headers: new Headers({ cookie }) });
			expect(accounts.map((a) => a.providerId).sort()).toEqual(["credential", "github"]);
		});

		it("getAccessToken and refresh work, and the refreshed tokens are sealed too", async () => {
			const got = await auth.api.getAccessToken({ body: { accountId, userId } });
			expect(got.accessToken).toBe(tokens.accessToken);
			const fresh = await auth.api.refreshToken({ body: { accountId, userId } });
			expect(refreshed.token).toBe(tokens.refreshToken);
			expect(fresh.accessToken).toMatch(/^refreshed-access-/);
			const again = await auth.api.getAccessToken({ body: { accountId, userId } });
			expect(again.accessToken).toBe(fresh.accessToken);
			const text = await dump(driver(), NS);
			expect(text.includes(String(fresh.accessToken))).toBe(false);
			expect(text.includes(String(fresh.refreshToken))).toBe(false);
		});

		it("the email OTP signs in", async () => {
			const result = await auth.api.signInEmailOTP({ body: { email, otp: outbox.otp[0]! } });
			expect(result.user.id).toBe(userId);
		});

		it("the magic link signs in", async () => {
			const result = (await auth.api.magicLinkVerify({
				query: { token: outbox.magic[0]! },
				headers: new Headers(),
			})) as { user: { id: string } };
			expect(result.user.id).toBe(userId);
		});

		it("equality on a hashed field finds the row and hands back the clear operand", async () => {
			const adapter = stores.adapter(options);
			const identifier = `reset-password:${random("token")}`;
			await adapter.create({
				model: "verification",
				data: { identifier, value: "user-1", expiresAt: new Date(Date.now() + DAY) },
			});
			const found = await adapter.findMany<Record<string, unknown>>({
				model: "verification",
				where: [{ field: "identifier", value: identifier }],
			});
			expect(found).toHaveLength(1);
			expect(found[0]).toMatchObject({ identifier, value: "user-1" });
			await adapter.update({
				model: "verification",
				where: [{ field: "identifier", value: identifier }],
				update: { value: "user-2" },
			});
			const updated = await adapter.findOne<Record<string, unknown>>({
				model: "verification",
				where: [{ field: "identifier", value: [identifier], operator: "in" }],
			});
			expect(updated).toMatchObject({ identifier, value: "user-2" });
			expect(await adapter.count({ model: "verification", where: [{ field: "identifier", value: identifier }] })).toBe(
				1,
			);
			await adapter.deleteMany({ model: "verification", where: [{ field: "identifier", value: identifier }] });
			expect(
				await adapter.findOne({ model: "verification", where: [{ field: "identifier", value: identifier }] }),
			).toBeNull();
		});

		it("a filter or sort on a sealed field throws, never a silent miss", async () => {
			const adapter = stores.adapter(options);
			const where = [{ field: "accessToken", value: tokens.accessToken }];
			await expect(adapter.findOne({ model: "account", where })).rejects.toThrow(SealedFieldQueryError);
			await expect(adapter.findMany({ model: "account", where })).rejects.toThrow(SealedFieldQueryError);
			await expect(adapter.count({ model: "account", where })).rejects.toThrow(SealedFieldQueryError);
			await expect(adapter.deleteMany({ model: "account", where })).rejects.toThrow(SealedFieldQueryError);
			await expect(
				adapter.findMany({ model: "account", sortBy: { field: "refreshToken", direction: "asc" } }),
			).rejects.toThrow(SealedFieldQueryError);
			await expect(
				adapter.findMany({
					model: "verification",
					where: [{ field: "identifier", value: "reset-password:", operator: "starts_with" }],
				}),
			).rejects.toThrow(SealedFieldQueryError);
			// Null-ness is not secret: it stays queryable.
			const withToken = await adapter.count({
				model: "account",
				where: [{ field: "accessToken", value: null, operator: "ne" }],
			});
			expect(withToken).toBe(1);
		});

		it("select without the id still opens sealed fields (their id is bound in), and strips it again", async () => {
			const adapter = stores.adapter(options);
			const [row] = await adapter.findMany<Record<string, unknown>>({
				model: "account",
				where: [
					{ field: "userId", value: userId },
					{ field: "providerId", value: "github" },
				],
				select: ["idToken"],
			});
			expect(row).toEqual({ idToken: tokens.idToken });
		});

		it("a user with accounts joined opens the joined tokens", async () => {
			const adapter = stores.adapter(options);
			const user = await adapter.findOne<Record<string, unknown> & { account: Record<string, unknown>[] }>({
				model: "user",
				where: [{ field: "id", value: userId }],
				join: { account: true },
			});
			const github = user?.account.find((a) => a.providerId === "github");
			expect(github?.idToken).toBe(tokens.idToken);
		});

		it("a ciphertext copied to another column or row, or a flipped byte, fails with a typed error", async () => {
			const adapter = stores.adapter(options);
			const other = await adapter.create<Record<string, unknown>, Record<string, unknown>>({
				model: "account",
				data: {
					userId,
					providerId: "gitlab",
					accountId: random("gitlab"),
					accessToken: random("other-access"),
					createdAt: new Date(),
					updatedAt: new Date(),
				},
			});
			const read = (id: string) =>
				adapter.findOne<Record<string, unknown>>({ model: "account", where: [{ field: "id", value: id }] });
			const raw = async (id: string) =>
				(
					await driver().query<{ a: string; i: string }>(
						`select "accessToken" as a, "idToken" as i from ${NS}.account where id = $1`,
						[id],
					)
				).rows[0]!;
			const original = await raw(accountId);
			// Column: the id token's ciphertext in the access token's column.
			await driver().query(`update ${NS}.account set "accessToken" = $2 where id = $1`, [accountId, original.i]);
			const error = await read(accountId).catch((e: unknown) => e);
			expect(error).toBeInstanceOf(SealedFieldError);
			expect(String((error as Error).message)).not.toContain(original.i);
			// Row: another account's access token here.
			await driver().query(`update ${NS}.account set "accessToken" = $2 where id = $1`, [
				accountId,
				(await raw(other.id as string)).a,
			]);
			await expect(read(accountId)).rejects.toThrow(SealedFieldError);
			// A flipped character in the ciphertext.
			const last = original.a.at(-2) === "A" ? "B" : "A";
			const flipped = `${original.a.slice(0, -2)}${last}${original.a.at(-1)}`;
			await driver().query(`update ${NS}.account set "accessToken" = $2 where id = $1`, [accountId, flipped]);
			await expect(read(accountId)).rejects.toThrow(SealedFieldError);
			await driver().query(`update ${NS}.account set "accessToken" = $2 where id = $1`, [accountId, original.a]);
			expect((await read(accountId))?.accessToken).toBeTypeOf("string");
		});

		it("a wrong keystore password opens nothing: a typed error, no plaintext", async () => {
			const wrong = storesFor(
				driver(),
				{ schema: NS, keystorePassword: "not the password", seal: true },
				async () => {},
			);
			const error = await wrong
				.adapter(options)
				.findOne({ model: "account", where: [{ field: "id", value: accountId }] })
				.catch((e: unknown) => e);
			expect(error).toBeInstanceOf(KeystorePasswordError);
		});

		it("concurrent reads (cold keys included) all open", async () => {
			const cold = storesFor(driver(), { schema: NS, keystorePassword: PASSWORD, seal: true }, async () => {});
			const adapter = cold.adapter(options);
			const reads = await Promise.all(
				Array.from({ length: 40 }, () =>
					adapter.findOne<Record<string, unknown>>({ model: "account", where: [{ field: "id", value: accountId }] }),
				),
			);
			for (const row of reads) expect(row?.idToken).toBe(tokens.idToken);
		});

		it("concurrent first use of a fresh vault agrees on one set of field keys", async () => {
			const ns = `${NS}_fresh`;
			await driver().query(`drop schema if exists ${ns} cascade`, []);
			const make = () => storesFor(driver(), { schema: ns, keystorePassword: PASSWORD, seal: true }, async () => {});
			await make().migrate(options);
			const writers = [make(), make(), make()];
			const created = await Promise.all(
				writers.map((s, i) =>
					s.adapter(options).create<Record<string, unknown>, Record<string, unknown>>({
						model: "verification",
						data: { identifier: `writer-${i}`, value: `value-${i}`, expiresAt: new Date(Date.now() + DAY) },
					}),
				),
			);
			const { rows } = await driver().query<{ n: string }>(
				`select count(*)::text as n from ${ns}.authpg_keystore_field_key`,
				[],
			);
			expect(rows[0]!.n).toBe("2");
			for (const s of writers) {
				for (const [i, row] of created.entries()) {
					const read = await s.adapter(options).findOne<Record<string, unknown>>({
						model: "verification",
						where: [{ field: "id", value: String(row.id) }],
					});
					expect(read?.value).toBe(`value-${i}`);
				}
			}
		});

		// Last of the flows on the shared user: a reset revokes the OAuth accounts linked while the email was unproven.
		it("the password reset completes, once", async () => {
			await auth.api.resetPassword({ body: { token: outbox.reset[0]!, newPassword } });
			const signedIn = await auth.api.signInEmail({ body: { email, password: newPassword } });
			expect(signedIn.user.id).toBe(userId);
			await expect(auth.api.resetPassword({ body: { token: outbox.reset[0]!, newPassword } })).rejects.toThrow();
		});

		it("a key rotation killed midway resumes and ends with every row readable; clear values are adopted", async () => {
			const ns = `${NS}_reseal`;
			await driver().query(`drop schema if exists ${ns} cascade`, []);
			const app = storesFor(driver(), { schema: ns, keystorePassword: PASSWORD, seal: true }, async () => {});
			await app.migrate(options);
			const adapter = app.adapter(options);
			const { id: ownerId } = await adapter.create<Record<string, unknown>, { id: string }>({
				model: "user",
				data: {
					name: "Owner",
					email: `${random("owner")}@example.com`,
					emailVerified: true,
					createdAt: new Date(),
					updatedAt: new Date(),
				},
			});
			const expected = new Map<string, string>();
			for (let i = 0; i < 23; i++) {
				const accessToken = random(`access-${i}`);
				const row = await adapter.create<Record<string, unknown>, { id: string }>({
					model: "account",
					data: {
						userId: ownerId,
						providerId: `p${i}`,
						accountId: `a${i}`,
						accessToken,
						createdAt: new Date(),
						updatedAt: new Date(),
					},
				});
				expected.set(row.id, accessToken);
			}
			// Rows from before sealing was on: clear values, written behind the adapter's back.
			for (let i = 0; i < 4; i++) {
				const id = random("legacy");
				const accessToken = random(`legacy-access-${i}`);
				await driver().query(
					`insert into ${ns}.account (id, "userId", "providerId", "accountId", "accessToken", "createdAt", "updatedAt") values ($1, $2, $3, $4, $5, now(), now())`,
					[id, ownerId, `legacy${i}`, `legacy${i}`, accessToken],
				);
				expected.set(id, accessToken);
			}
			const legacyReset = `reset-password:${random("legacy-token")}`;
			await driver().query(
				`insert into ${ns}.verification (id, identifier, value, "expiresAt", "createdAt", "updatedAt") values ($1, $2, $3, now() + interval '1 hour', now(), now())`,
				[random("v"), legacyReset, ownerId],
			);
			const newKey = await rotateFieldKey(driver(), { password: PASSWORD, schema: ns });
			const reseal = (onProgress?: () => void) =>
				resealFields(driver(), options, { keystorePassword: PASSWORD, schema: ns, batchSize: 5, onProgress });
			let batches = 0;
			await expect(
				reseal(() => {
					if (++batches === 2) throw new Error("killed");
				}),
			).rejects.toThrow("killed");
			const prefixes = async () =>
				(
					await driver().query<{ v: string }>(
						`select "accessToken" as v from ${ns}.account where "accessToken" is not null`,
						[],
					)
				).rows.map((r) => (r.v.startsWith(SEALED_PREFIX) ? r.v.split(":")[2] : "clear"));
			const midway = await prefixes();
			expect(midway.filter((k) => k === newKey).length).toBe(10);
			expect(midway.filter((k) => k !== newKey).length).toBe(17);
			// Meanwhile this process (its keyring loaded before the rotation) reads old and new keys alike.
			const read = async () => {
				const rows = await adapter.findMany<{ id: string; accessToken: string }>({
					model: "account",
					where: [{ field: "userId", value: ownerId }],
				});
				return new Map(rows.map((r) => [r.id, r.accessToken]));
			};
			expect(await read()).toEqual(expected);
			const result = await reseal();
			expect(result.keyId).toBe(newKey);
			const access = result.fields.find((f) => f.field === "account.accessToken")!;
			expect(access.resealed + access.adopted).toBe(17);
			expect(access.unreadable).toBe(0);
			expect(await prefixes()).toEqual(Array(27).fill(newKey));
			expect(await read()).toEqual(expected);
			const text = await dump(driver(), ns);
			for (const token of expected.values()) expect(text.includes(token)).toBe(false);
			expect(text.includes(legacyReset)).toBe(false);
			// The hashed legacy identifier is found by Better Auth's lookup again.
			const found = await adapter.findOne<Record<string, unknown>>({
				model: "verification",
				where: [{ field: "identifier", value: legacyReset }],
			});
			expect(found).toMatchObject({ identifier: legacyReset, value: ownerId });
			// A second run finds nothing left.
			const again = await reseal();
			expect(again.fields.every((f) => f.resealed + f.adopted === 0)).toBe(true);
		});

		it("rotating the keystore password re-wraps the field keys: sealed values still open with the new one", async () => {
			const ns = `${NS}_password`;
			await driver().query(`drop schema if exists ${ns} cascade`, []);
			const before = storesFor(driver(), { schema: ns, keystorePassword: PASSWORD, seal: true }, async () => {});
			await before.migrate(options);
			const row = await before.adapter(options).create<Record<string, unknown>, Record<string, unknown>>({
				model: "verification",
				data: { identifier: "kept", value: "sealed across rotation", expiresAt: new Date(Date.now() + DAY) },
			});
			const newPassword = "conformance seal password, the second";
			await rotateKeystorePassword(driver(), { oldPassword: PASSWORD, newPassword, schema: ns });
			const after = storesFor(driver(), { schema: ns, keystorePassword: newPassword, seal: true }, async () => {});
			const read = await after
				.adapter(options)
				.findOne<Record<string, unknown>>({ model: "verification", where: [{ field: "id", value: String(row.id) }] });
			expect(read?.value).toBe("sealed across rotation");
		});
	});
}
