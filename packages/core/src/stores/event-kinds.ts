/**
 * Which auth events a Better Auth write is: from the model, what was written
 * and the endpoint call behind it (its path, its request, its signed-in
 * user). No database here: the event log's wiring (`event-wiring.ts`) records
 * what these return, in the write's transaction.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import { type AuthEndpointContext, tryGetCurrentAuthEndpointContext } from "@better-auth/core/context";
import type { Where } from "@better-auth/core/db/adapter";
import { getIP } from "@better-auth/core/utils/ip";
import type { AuthEventInput, AuthEventType, EventRowFields } from "./events.js";

type Row = Record<string, unknown>;

/** The request behind the current Better Auth call, as Better Auth resolves it. */
export interface Origin {
	path: string;
	ipAddress: string | null;
	userAgent: string | null;
	/** The signed-in user making the call, when there is one. */
	actorId: string | null;
	ctx: AuthEndpointContext | undefined;
}

/** The endpoint call the current write belongs to (none outside one: a script, a background job). */
export function originOf(options: BetterAuthOptions): Origin {
	const ctx = tryGetCurrentAuthEndpointContext();
	const headers = ctx?.headers ?? ctx?.request?.headers;
	const session = (ctx?.context as { session?: { user?: { id?: unknown } } | null } | undefined)?.session;
	const actor = session?.user?.id;
	let ip: string | null | undefined;
	return {
		path: ctx?.path ?? "",
		// Resolved when first read: a session's events take the address from the session row instead.
		get ipAddress() {
			if (ip === undefined) ip = headers ? getIP(headers, options) : null;
			return ip;
		},
		userAgent: headers?.get("user-agent") ?? null,
		actorId: actor === undefined || actor === null ? null : String(actor),
		ctx,
	};
}

/** How a session came to be, from the endpoint that created it. */
export function signInMethod(origin: Origin): string | undefined {
	const { path, ctx } = origin;
	const param = (name: string) => (ctx?.params as Record<string, unknown> | undefined)?.[name];
	const body = ctx?.body as Record<string, unknown> | undefined;
	if (path.startsWith("/callback/")) return String(param("id") ?? path.slice("/callback/".length));
	if (path.startsWith("/oauth2/callback/")) return String(param("providerId") ?? "oauth2");
	if (path === "/sign-in/social") return typeof body?.provider === "string" ? body.provider : "social";
	if (path === "/magic-link/verify" || path === "/sign-in/magic-link") return "magic-link";
	if (path === "/passkey/verify-authentication") return "passkey";
	if (path.startsWith("/two-factor/verify-")) return "two-factor";
	if (path.startsWith("/sign-in/")) return path.slice("/sign-in/".length);
	return undefined;
}

/** Why sessions went, from the endpoint that deleted them; `undefined`: not an event (expiry, cleanup). */
function revocation(
	path: string,
): { type: "sign_out" | "session.revoked"; details: Record<string, string> } | undefined {
	switch (path) {
		case "/sign-out":
			return { type: "sign_out", details: {} };
		case "/revoke-session":
			return { type: "session.revoked", details: { scope: "one" } };
		case "/revoke-other-sessions":
			return { type: "session.revoked", details: { scope: "others" } };
		case "/revoke-sessions":
			return { type: "session.revoked", details: { scope: "all" } };
		case "/change-password":
			return { type: "session.revoked", details: { scope: "others", reason: "password_changed" } };
		case "/reset-password":
			return { type: "session.revoked", details: { scope: "all", reason: "password_reset" } };
	}
	if (path.startsWith("/admin/")) return { type: "session.revoked", details: { scope: "admin" } };
	return undefined;
}

const str = (value: unknown): string | null => (value === undefined || value === null ? null : String(value));

/** The value of an `eq` condition on `field`, when `where` has one. */
function whereValue(where: Where[] | undefined, field: string): string | null {
	const clause = where?.find((w) => w.field === field && (w.operator ?? "eq") === "eq");
	return clause ? str(clause.value) : null;
}

/** The events a write is, given what it wrote; empty for writes that are not events. */
export function eventsOfCreate(model: string, row: Row, origin: Origin): AuthEventInput[] {
	// A function, so a session's events (whose address is the row's) never resolve the request's.
	const base = () => ({ outcome: "success" as const, ipAddress: origin.ipAddress, userAgent: origin.userAgent });
	if (model === "user")
		return [{ ...base(), type: "user.created", userId: str(row.id), actorId: actorOf(origin, str(row.id)) }];
	if (model === "session") {
		const signedInWith = signInMethod(origin);
		const method = signedInWith ?? (origin.path === "/sign-up/email" ? "email" : undefined);
		const session = {
			outcome: "success" as const,
			userId: str(row.userId),
			sessionId: str(row.id),
			// The session row holds what Better Auth resolved for this request.
			ipAddress: str(row.ipAddress) || origin.ipAddress,
			userAgent: str(row.userAgent) || origin.userAgent,
			actorId: actorOf(origin, str(row.userId)),
			details: method ? { method } : {},
		};
		return signedInWith !== undefined
			? [
					{ ...session, type: "sign_in.succeeded" },
					{ ...session, type: "session.created" },
				]
			: [{ ...session, type: "session.created" }];
	}
	if (model === "account") {
		// The account a sign-up or a first social sign-in creates comes with its user; that is no link.
		if (origin.ctx && usersCreated.has(origin.ctx)) return [];
		const userId = str(row.userId);
		return [{ ...base(), type: "account.linked", userId, actorId: actorOf(origin, userId), details: provider(row) }];
	}
	if (model === "member") {
		const userId = str(row.userId);
		return [
			{
				...base(),
				type: "organization.member_added",
				userId,
				actorId: actorOf(origin, userId),
				details: membership(row),
			},
		];
	}
	if (model === "verification" && origin.path === "/request-password-reset") {
		// The identifier carries the reset token; only the user id (the value) is recorded.
		return [{ ...base(), type: "password.reset_requested", userId: str(row.value) }];
	}
	return [];
}

export function eventsOfUpdate(
	model: string,
	where: Where[],
	update: Row,
	row: Row | null,
	origin: Origin,
): AuthEventInput[] {
	const base = {
		outcome: "success" as const,
		ipAddress: origin.ipAddress,
		userAgent: origin.userAgent,
		sessionId: null,
	};
	if (model === "account" && "password" in update) {
		const userId = str(row?.userId) ?? whereValue(where, "userId");
		const type = origin.path === "/reset-password" ? "password.reset_completed" : "password.changed";
		return [{ ...base, type, userId, actorId: actorOf(origin, userId) }];
	}
	if (model === "user") {
		const userId = str(row?.id) ?? whereValue(where, "id");
		const actorId = actorOf(origin, userId);
		const events: AuthEventInput[] = [];
		if ("email" in update) events.push({ ...base, type: "email.changed", userId, actorId });
		if (update.emailVerified === true) events.push({ ...base, type: "email.verified", userId, actorId });
		if (update.twoFactorEnabled === true) events.push({ ...base, type: "two_factor.enabled", userId, actorId });
		if (update.twoFactorEnabled === false) events.push({ ...base, type: "two_factor.disabled", userId, actorId });
		return events;
	}
	if (model === "member" && "role" in update) {
		const userId = str(row?.userId);
		const details = row ? membership(row) : { role: str(update.role) };
		return [{ ...base, type: "organization.member_role_changed", userId, actorId: actorOf(origin, userId), details }];
	}
	return [];
}

/** What a delete of `model` is, given the rows it deletes; `undefined`: not an event. */
export function deletion(model: string, origin: Origin): ((rows: Row[]) => AuthEventInput[]) | undefined {
	const base = { outcome: "success" as const, ipAddress: origin.ipAddress, userAgent: origin.userAgent };
	if (model === "session") {
		const why = revocation(origin.path);
		return why && ((rows) => sessionEvents(rows, why, origin));
	}
	const unlinked = DELETIONS[model];
	return (
		unlinked &&
		((rows) =>
			rows.map((row) => ({
				...base,
				type: unlinked.type,
				userId: str(row.userId),
				actorId: actorOf(origin, str(row.userId)),
				details: unlinked.details(row),
			})))
	);
}

/** The signed-in user, when they act on someone else. */
const actorOf = (origin: Origin, userId: string | null) =>
	origin.actorId !== null && origin.actorId !== userId ? origin.actorId : null;
const provider = (row: Row) => ({ provider: str(row.providerId) });
const membership = (row: Row) => ({ organizationId: str(row.organizationId), role: str(row.role) });

/** Which fields of a created row fill its events' `userId` and `sessionId` (as {@link eventsOfCreate} reads them). */
export function rowFields(model: string): EventRowFields {
	if (model === "session") return { userId: "userId", sessionId: "id" };
	if (model === "user") return { userId: "id" };
	if (model === "account" || model === "member") return { userId: "userId" };
	return {};
}

/** Endpoint calls that created a user, so the account created with it is not reported as a link. */
const usersCreated = new WeakSet<object>();

/** Note that `origin`'s endpoint call creates a user (before its account is created). */
export function userCreatedBy(origin: Origin): void {
	if (origin.ctx) usersCreated.add(origin.ctx);
}

function sessionEvents(gone: Row[], why: NonNullable<ReturnType<typeof revocation>>, origin: Origin): AuthEventInput[] {
	return gone.map((session) => {
		const userId = str(session.userId);
		return {
			type: why.type,
			outcome: "success",
			userId,
			sessionId: str(session.id),
			actorId: actorOf(origin, userId),
			ipAddress: origin.ipAddress,
			userAgent: origin.userAgent,
			details: why.details,
		};
	});
}

/** Why Better Auth refused a sign-in, from its error; never the attempted credentials. */
export function failureReason(code: string | undefined): string {
	switch (code) {
		case "EMAIL_NOT_VERIFIED":
			return "email_not_verified";
		case "BANNED_USER":
			return "banned";
		case "INVALID_TWO_FACTOR_AUTHENTICATION":
		case "INVALID_CODE":
		case "INVALID_BACKUP_CODE":
			return "second_factor_failed";
		default:
			return code ? code.toLowerCase() : "unknown";
	}
}

/** The row deletions that unlink a user from something, other than sessions. */
const DELETIONS: Record<string, { type: AuthEventType; details: (row: Row) => Record<string, unknown> } | undefined> = {
	account: { type: "account.unlinked", details: provider },
	member: { type: "organization.member_removed", details: membership },
};
