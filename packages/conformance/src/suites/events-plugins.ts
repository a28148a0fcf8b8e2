/**
 * The event log through Better Auth's plugins and the log's own endpoints:
 * password reset, email verification, two-factor, organization membership,
 * an admin's revocation, the admin listing, magic-link and email-OTP
 * sign-ins. Each on a schema of its own, each checked for secrets.
 */
import type { Driver, Stores } from "@authpg/core";
import { storesFor } from "@authpg/core/driver";
import { betterAuth } from "better-auth";
import { admin, emailOTP, magicLink, organization, twoFactor } from "better-auth/plugins";
import { describe, expect, it } from "vitest";
import { brief, call, eventsOf, IP, NEW_PASSWORD, NS, PASSWORD, UA, unique } from "./events-fixture.js";

/** Reset tokens and verification links Better Auth "sends". */
const outbox: { resetToken?: string; verifyToken?: string } = {};

const PLUGIN_OPTIONS = {
	emailAndPassword: {
		enabled: true,
		sendResetPassword: async ({ token }: { token: string }) => {
			outbox.resetToken = token;
		},
	},
	emailVerification: {
		sendOnSignUp: true,
		sendVerificationEmail: async ({ token }: { token: string }) => {
			outbox.verifyToken = token;
		},
	},
	plugins: [twoFactor({ skipVerificationOnEnable: true }), organization(), admin()],
};

function pluginAuthOn(stores: Stores) {
	return betterAuth(
		stores.applyTo({
			...PLUGIN_OPTIONS,
			baseURL: "http://localhost:3000",
			secret: "authpg-conformance-secret-0123456789abcdef",
			rateLimit: { enabled: false },
		}),
	);
}

/** Register the event-log plugin and endpoint tests. */
export function eventPluginsSuite(driver: () => Driver) {
	describe("event log: plugins and admin endpoints", () => {
		const secrets: string[] = [PASSWORD, NEW_PASSWORD];
		/**
		 * No event in `schema` holds any of `used` (tokens, cookies, passwords) anywhere in its row: those
		 * of 8 characters or more (a shorter cookie value could occur by chance), and every one of `codes`.
		 */
		const expectNoSecretIn = async (schema: string, used: readonly string[], codes: readonly string[] = []) => {
			const { rows } = await driver().query<{ row: string }>(
				`select e::text as "row" from ${schema}.authpg_event e`,
				[],
			);
			expect(rows.length).toBeGreaterThan(0);
			const secrets = [...used.filter((s) => s && s.length >= 8), ...codes];
			for (const { row } of rows) for (const secret of secrets) expect(row).not.toContain(secret);
		};

		it("reset, email verification, two-factor, organization membership and an admin's revocation: the exact events", async () => {
			const pluginStores = storesFor(driver(), { schema: `${NS}_plugins`, events: true }, async () => {});
			await driver().query(`drop schema if exists ${NS}_plugins cascade`, []);
			await pluginStores.migrate(PLUGIN_OPTIONS);
			const pauth = pluginAuthOn(pluginStores);
			const signUp = async (label: string) => {
				const response = await call(pauth, "/sign-up/email", { email: unique(label), password: PASSWORD, name: label });
				expect(response.status).toBe(200);
				secrets.push(response.json.token, ...response.cookie.split("; ").map((c) => c.split("=")[1]!));
				return {
					id: response.json.user.id,
					cookie: response.cookie,
					email: (response.json.user as never as { email: string }).email,
				};
			};
			const owner = await signUp("owner");
			const member = await signUp("member");
			const verifyToken = outbox.verifyToken!;
			secrets.push(verifyToken);

			expect((await call(pauth, `/verify-email?token=${encodeURIComponent(verifyToken)}`)).status).toBe(200);
			expect((await call(pauth, "/request-password-reset", { email: member.email })).status).toBe(200);
			const resetToken = outbox.resetToken!;
			secrets.push(resetToken);
			expect((await call(pauth, "/reset-password", { token: resetToken, newPassword: NEW_PASSWORD })).status).toBe(200);

			// Enabling and disabling two-factor rotate the session: follow the cookies the owner is given.
			const jar = new Map(owner.cookie.split("; ").map((c) => c.split("=") as [string, string]));
			const asOwner = async (path: string, body: unknown) => {
				const response = await call(pauth, path, body, [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
				for (const c of response.cookie ? response.cookie.split("; ") : []) {
					const [name, value] = c.split("=") as [string, string];
					jar.set(name, value);
					secrets.push(value);
				}
				return response;
			};
			const enabled = await asOwner("/two-factor/enable", { password: PASSWORD });
			expect(enabled.status).toBe(200);
			const totp = enabled.json as never as { totpURI: string; backupCodes: string[] };
			secrets.push(new URL(totp.totpURI).searchParams.get("secret")!, ...totp.backupCodes);
			expect((await asOwner("/two-factor/disable", { password: PASSWORD })).status).toBe(200);

			const created = await asOwner("/organization/create", { name: "Acme", slug: unique("acme").split("@")[0] });
			expect(created.status).toBe(200);
			const organizationId = (created.json as never as { id: string }).id;
			const invited = await asOwner("/organization/invite-member", {
				email: member.email,
				role: "member",
				organizationId,
			});
			expect(invited.status).toBe(200);
			const invitationId = (invited.json as never as { id: string }).id;
			const memberCookie = (await call(pauth, "/sign-in/email", { email: member.email, password: NEW_PASSWORD }))
				.cookie;
			expect((await call(pauth, "/organization/accept-invitation", { invitationId }, memberCookie)).status).toBe(200);
			const members = await driver().query<{ id: string }>(`select id from ${NS}_plugins.member where "userId" = $1`, [
				member.id,
			]);
			const memberId = members.rows[0]!.id;
			expect(
				(await asOwner("/organization/update-member-role", { memberId, role: "admin", organizationId })).status,
			).toBe(200);
			expect((await asOwner("/organization/remove-member", { memberIdOrEmail: memberId, organizationId })).status).toBe(
				200,
			);

			await driver().query(`update ${NS}_plugins."user" set role = 'admin' where id = $1`, [owner.id]);
			expect((await asOwner("/admin/revoke-user-sessions", { userId: member.id })).status).toBe(200);

			const ownerEvents = await eventsOf(pluginStores, owner.id);
			// Two-factor on and off each rotate the session: a new session, not a sign-in.
			expect(ownerEvents.map(brief)).toEqual([
				["user.created", "success", {}],
				["session.created", "success", { method: "email" }],
				["two_factor.enabled", "success", {}],
				["session.created", "success", {}],
				["two_factor.disabled", "success", {}],
				["session.created", "success", {}],
				["organization.member_added", "success", { organizationId, role: "owner" }],
			]);
			expect(ownerEvents.every((e) => e.actorId === null)).toBe(true);
			const memberEvents = await eventsOf(pluginStores, member.id);
			const membership = { organizationId, role: "member" };
			const promoted = { organizationId, role: "admin" };
			expect(memberEvents.map((e) => [...brief(e), e.actorId === owner.id ? "by owner" : e.actorId])).toEqual([
				["user.created", "success", {}, null],
				["session.created", "success", { method: "email" }, null],
				["email.verified", "success", {}, null],
				["password.reset_requested", "success", {}, null],
				["password.reset_completed", "success", {}, null],
				["sign_in.succeeded", "success", { method: "email" }, null],
				["session.created", "success", { method: "email" }, null],
				["organization.member_added", "success", membership, null],
				["organization.member_role_changed", "success", promoted, "by owner"],
				["organization.member_removed", "success", promoted, "by owner"],
				["session.revoked", "success", { scope: "admin" }, "by owner"],
				["session.revoked", "success", { scope: "admin" }, "by owner"],
			]);
			for (const e of [...ownerEvents, ...memberEvents]) {
				expect(e.ipAddress).toBe(IP);
				expect(e.userAgent).toBe(UA);
			}
			await expectNoSecretIn(`${NS}_plugins`, secrets);
		});

		it("GET /admin/events/list: the admin plugin's permission decides; without the plugin, `isAdmin`; `endpoints: false` serves neither", async () => {
			const schema = `${NS}_admin`;
			await driver().query(`drop schema if exists ${schema} cascade`, []);
			const options = {
				emailAndPassword: { enabled: true },
				baseURL: "http://localhost:3000",
				secret: "authpg-conformance-secret-0123456789abcdef",
				rateLimit: { enabled: false },
			};
			const adminStores = storesFor(driver(), { schema, events: true }, async () => {});
			await adminStores.migrate({ ...options, plugins: [admin()] });
			const withPlugin = betterAuth(adminStores.applyTo({ ...options, plugins: [admin()] }));
			const boss = await call(withPlugin, "/sign-up/email", {
				email: unique("boss"),
				password: PASSWORD,
				name: "Boss",
			});
			const user = await call(withPlugin, "/sign-up/email", {
				email: unique("user"),
				password: PASSWORD,
				name: "User",
			});
			secrets.push(boss.json.token, user.json.token);
			await driver().query(`update ${schema}."user" set role = 'admin' where id = $1`, [boss.json.user.id]);
			const theirs = `/admin/events/list?userId=${user.json.user.id}`;
			expect((await call(withPlugin, theirs, undefined, user.cookie)).status).toBe(403);
			expect((await call(withPlugin, theirs)).status).toBe(401);
			const listed = await call(withPlugin, theirs, undefined, boss.cookie);
			expect(listed.status).toBe(200);
			const events = (listed.json as never as { events: { type: string; userId: string }[] }).events;
			expect(events.map((e) => [e.type, e.userId])).toEqual([
				["session.created", user.json.user.id],
				["user.created", user.json.user.id],
			]);
			const everyone = await call(withPlugin, "/admin/events/list?type=user.created", undefined, boss.cookie);
			expect((everyone.json as never as { events: unknown[] }).events).toHaveLength(2);
			// A permission the admin role does not hold refuses even an admin.
			const strict = storesFor(
				driver(),
				{ schema, events: { adminPermission: { session: ["impersonate"] } } },
				async () => {},
			);
			const strictAuth = betterAuth(strict.applyTo({ ...options, plugins: [admin()] }));
			expect((await call(strictAuth, theirs, undefined, boss.cookie)).status).toBe(403);

			// No admin plugin: nobody, unless `isAdmin` says so.
			const plain = betterAuth(adminStores.applyTo(options));
			expect((await call(plain, theirs, undefined, boss.cookie)).status).toBe(403);
			const chosen = storesFor(
				driver(),
				{ schema, events: { isAdmin: (u) => u.id === boss.json.user.id } },
				async () => {},
			);
			const chosenAuth = betterAuth(chosen.applyTo(options));
			expect((await call(chosenAuth, theirs, undefined, boss.cookie)).status).toBe(200);
			expect((await call(chosenAuth, theirs, undefined, user.cookie)).status).toBe(403);

			const off = storesFor(driver(), { schema, events: { endpoints: false } }, async () => {});
			const offAuth = betterAuth(off.applyTo({ ...options, plugins: [admin()] }));
			expect((await call(offAuth, "/events/list", undefined, boss.cookie)).status).toBe(404);
			expect((await call(offAuth, theirs, undefined, boss.cookie)).status).toBe(404);
			await expectNoSecretIn(schema, secrets);
		});

		it("magic-link and email-OTP sign-ins: recorded with their method", async () => {
			const schema = `${NS}_passwordless`;
			await driver().query(`drop schema if exists ${schema} cascade`, []);
			const sent: { link?: string; otp?: string } = {};
			const options = {
				emailAndPassword: { enabled: true },
				baseURL: "http://localhost:3000",
				secret: "authpg-conformance-secret-0123456789abcdef",
				rateLimit: { enabled: false },
				plugins: [
					magicLink({
						sendMagicLink: async ({ token }: { token: string }) => {
							sent.link = token;
						},
					}),
					emailOTP({
						sendVerificationOTP: async ({ otp }: { otp: string }) => {
							sent.otp = otp;
						},
					}),
				],
			};
			const passwordless = storesFor(driver(), { schema, events: true }, async () => {});
			await passwordless.migrate(options);
			const pauth = betterAuth(passwordless.applyTo(options));
			const email = unique("passwordless");
			const signUp = await call(pauth, "/sign-up/email", { email, password: PASSWORD, name: "P" });
			expect(signUp.status).toBe(200);
			const userId = signUp.json.user.id;
			secrets.push(signUp.json.token);

			expect((await call(pauth, "/sign-in/magic-link", { email })).status).toBe(200);
			secrets.push(sent.link!);
			const verified = await call(pauth, `/magic-link/verify?token=${encodeURIComponent(sent.link!)}`);
			expect(verified.status).toBe(200);
			expect(verified.cookie).toContain("session_token");

			expect((await call(pauth, "/email-otp/send-verification-otp", { email, type: "sign-in" })).status).toBe(200);
			secrets.push(sent.otp!);
			expect(
				(await call(pauth, "/sign-in/email-otp", { email, otp: "000000" === sent.otp ? "111111" : "000000" })).status,
			).toBe(400);
			const otp = await call(pauth, "/sign-in/email-otp", { email, otp: sent.otp });
			expect(otp.status).toBe(200);
			secrets.push(otp.json.token);

			const events = await eventsOf(passwordless, userId);
			expect(events.map(brief)).toEqual([
				["user.created", "success", {}],
				["session.created", "success", { method: "email" }],
				// Verifying an unverified user by magic link drops the password set before (Better Auth's guard
				// against an account pre-registered by someone else): a credential unlinked.
				["account.unlinked", "success", { provider: "credential" }],
				["email.verified", "success", {}],
				["sign_in.succeeded", "success", { method: "magic-link" }],
				["session.created", "success", { method: "magic-link" }],
				["sign_in.succeeded", "success", { method: "email-otp" }],
				["session.created", "success", { method: "email-otp" }],
			]);
			// A failure names no user unless it is a password sign-in's (see eventsPlugin): found by type.
			const failed = await passwordless.events.list({ type: "sign_in.failed" });
			expect(failed.events.map((e) => e.details)).toEqual([{ method: "email-otp", reason: "invalid_otp" }]);
			await expectNoSecretIn(schema, secrets, [sent.otp!]);
		});
	});
}
