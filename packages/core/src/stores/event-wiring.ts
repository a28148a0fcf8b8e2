/**
 * How `stores.applyTo` feeds the event log from Better Auth.
 *
 * Changes are recorded where they are made: the adapter Better Auth is given
 * is wrapped. A create that is an event (a session, a user, a linked account,
 * a membership) writes its events in its own statement, as a data-modifying
 * CTE (`adapter/companion.ts`): atomic, and a sign-in costs no round trip more
 * than without the log. Any other write that is an event (a session deleted,
 * a password or email updated) writes its event in the same transaction —
 * Better Auth's own when one is open (its `adapter.transaction` runs on the
 * stores' driver, so the event store's statement joins it), the caller's
 * `stores.transaction`, or else a short one opened around the write and its
 * event. Better Auth's `databaseHooks` are no use here: their `after`
 * hooks run once the transaction has committed.
 *
 * Failures change nothing, so they are one insert: a plugin's `after` hook
 * for a failed sign-in, and the rate-limit store for a refused request.
 * Reads never reach any of this.
 */
import type { BetterAuthOptions, BetterAuthPlugin } from "@better-auth/core";
import { createAuthMiddleware } from "@better-auth/core/api";
import { type AuthEndpointContext, tryGetCurrentAuthEndpointContext } from "@better-auth/core/context";
import type { DBAdapter, DBTransactionAdapter, Where } from "@better-auth/core/db/adapter";
import { getIP } from "@better-auth/core/utils/ip";
import { type CompanionCreate, CREATE_WITH_COMPANION, type CreateArgs } from "../adapter/companion.js";
import type { Driver } from "../driver/contract.js";
import { inCallerTransaction } from "./caller-transaction.js";
import { type EventEndpointOptions, eventEndpoints } from "./event-endpoints.js";
import type { AuthEventInput, EventRowFields, EventStore, eventCompanions } from "./events.js";
import type { RateLimitStorage } from "./rate-limit.js";
import { STORE_MARK } from "./tables.js";

type Row = Record<string, unknown>;

/** The id of the plugin {@link eventsPlugin} adds. */
export const EVENTS_PLUGIN_ID = "authpg-events";

/** The event retention (ms) configured through `stores.applyTo`, read back from Better Auth options. */
export function eventRetentionIn(options: { plugins?: unknown[] | undefined }): number | undefined {
	for (const plugin of options.plugins ?? []) {
		const found = plugin as { id?: unknown; options?: { retention?: unknown } } | undefined;
		if (found?.id === EVENTS_PLUGIN_ID && typeof found.options?.retention === "number") return found.options.retention;
	}
	return undefined;
}

/** The request behind the current Better Auth call, as Better Auth resolves it. */
interface Origin {
	path: string;
	ipAddress: string | null;
	userAgent: string | null;
	/** The signed-in user making the call, when there is one. */
	actorId: string | null;
	ctx: AuthEndpointContext | undefined;
}

function originOf(options: BetterAuthOptions): Origin {
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
function signInMethod(origin: Origin): string | undefined {
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
function eventsOfCreate(model: string, row: Row, origin: Origin): AuthEventInput[] {
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

function eventsOfUpdate(model: string, where: Where[], update: Row, row: Row | null, origin: Origin): AuthEventInput[] {
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
function deletion(model: string, origin: Origin): ((rows: Row[]) => AuthEventInput[]) | undefined {
	const base = { outcome: "success" as const, ipAddress: origin.ipAddress, userAgent: origin.userAgent };
	if (model === "session") {
		const why = revocation(origin.path);
		return why && ((rows) => sessionEvents(rows, why, origin));
	}
	if (model === "account")
		return (rows) =>
			rows.map((row) => ({
				...base,
				type: "account.unlinked",
				userId: str(row.userId),
				actorId: actorOf(origin, str(row.userId)),
				details: provider(row),
			}));
	if (model === "member")
		return (rows) =>
			rows.map((row) => ({
				...base,
				type: "organization.member_removed",
				userId: str(row.userId),
				actorId: actorOf(origin, str(row.userId)),
				details: membership(row),
			}));
	return undefined;
}

/** The signed-in user, when they act on someone else. */
const actorOf = (origin: Origin, userId: string | null) =>
	origin.actorId !== null && origin.actorId !== userId ? origin.actorId : null;
const provider = (row: Row) => ({ provider: str(row.providerId) });
const membership = (row: Row) => ({ organizationId: str(row.organizationId), role: str(row.role) });

/** Which fields of a created row fill its events' `userId` and `sessionId` (as {@link eventsOfCreate} reads them). */
function rowFields(model: string): EventRowFields {
	if (model === "session") return { userId: "userId", sessionId: "id" };
	if (model === "user") return { userId: "id" };
	if (model === "account" || model === "member") return { userId: "userId" };
	return {};
}

/** Endpoint calls that created a user, so the account created with it is not reported as a link. */
const usersCreated = new WeakSet<object>();

/** `adapter` recording the events its writes are into `events`, each in the write's transaction. */
export function withEvents(
	adapter: DBAdapter<BetterAuthOptions>,
	events: EventStore,
	driver: Driver,
	options: BetterAuthOptions,
	companions: ReturnType<typeof eventCompanions>,
): DBAdapter<BetterAuthOptions> {
	/** Run `write`, then record what it turns out to be, both in one transaction. */
	const atomically = <T>(write: () => Promise<T>, eventsOf: (result: T) => Promise<AuthEventInput[]>) => {
		const both = async () => {
			const result = await write();
			const found = await eventsOf(result);
			await events.record(found);
			return result;
		};
		// Better Auth's transaction and the caller's are on the stores' driver: the record joins them.
		if (inCallerTransaction(driver) || !driver.capabilities.transactions) return both();
		return driver.transaction(() => both());
	};

	const wrap = <A extends DBTransactionAdapter<BetterAuthOptions>>(inner: A): A => ({
		...inner,
		async create(args) {
			const origin = originOf(options);
			if (args.model === "user" && origin.ctx) usersCreated.add(origin.ctx);
			const candidate = eventsOfCreate(args.model, (args.data ?? {}) as Row, origin);
			if (candidate.length === 0) return inner.create(args);
			const withCompanion = (inner as Partial<CompanionCreate>)[CREATE_WITH_COMPANION];
			if (withCompanion) {
				// The events go in the insert's own statement: atomic, and no BEGIN/COMMIT round trips.
				// What only the row knows (its id, maybe assigned by the database) is read from it there.
				return withCompanion(args as CreateArgs, companions(candidate, rowFields(args.model))) as never;
			}
			return atomically(
				() => inner.create(args),
				async (row) => eventsOfCreate(args.model, row as Row, origin),
			);
		},
		async update(args) {
			const origin = originOf(options);
			if (eventsOfUpdate(args.model, args.where, args.update as Row, null, origin).length === 0)
				return inner.update(args);
			return atomically(
				() => inner.update(args),
				async (row) => (row ? eventsOfUpdate(args.model, args.where, args.update as Row, row as Row, origin) : []),
			);
		},
		async updateMany(args) {
			const origin = originOf(options);
			const found = eventsOfUpdate(args.model, args.where, args.update as Row, null, origin);
			if (found.length === 0) return inner.updateMany(args);
			return atomically(
				() => inner.updateMany(args),
				async (count) => (Number(count) > 0 ? found : []),
			);
		},
		async delete(args) {
			const origin = originOf(options);
			const eventsOf = deletion(args.model, origin);
			if (!eventsOf) return inner.delete(args);
			let gone: Row[] = [];
			return atomically(
				async () => {
					// The row says whose it was; the delete itself returns nothing.
					gone = (await inner.findMany({ model: args.model, where: args.where, limit: 1 })) as Row[];
					return inner.delete(args);
				},
				async () => eventsOf(gone),
			);
		},
		async deleteMany(args) {
			const origin = originOf(options);
			const eventsOf = deletion(args.model, origin);
			if (!eventsOf) return inner.deleteMany(args);
			let gone: Row[] = [];
			return atomically(
				async () => {
					gone = (await inner.findMany({ model: args.model, where: args.where })) as Row[];
					return inner.deleteMany(args);
				},
				async () => eventsOf(gone),
			);
		},
	});

	const wrapped = wrap(adapter as DBTransactionAdapter<BetterAuthOptions>) as DBAdapter<BetterAuthOptions>;
	wrapped.transaction = (callback) => adapter.transaction((tx) => callback(wrap(tx)));
	const config = adapter.options?.adapterConfig;
	if (config && adapter.options) {
		wrapped.options = {
			...adapter.options,
			adapterConfig: {
				...config,
				transaction: config.transaction ? (callback) => wrapped.transaction(callback as never) : false,
			},
		};
	}
	return wrapped;
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
function failureReason(code: string | undefined): string {
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

/**
 * The Better Auth plugin that records failed sign-ins (one insert each) and
 * serves the event log's endpoints (`event-endpoints.ts`). It
 * is also the mark by which the migration planner knows the event log is in
 * use, and carries the retention so `prune` (and `authpg prune`, which sees
 * only the Better Auth options) honours it.
 */
export function eventsPlugin(
	events: EventStore,
	options: BetterAuthOptions,
	retention: number | undefined,
	endpointOptions: EventEndpointOptions = {},
): BetterAuthPlugin {
	const plugin: BetterAuthPlugin = {
		id: EVENTS_PLUGIN_ID,
		options: { retention },
		...(endpointOptions.endpoints === false ? {} : { endpoints: eventEndpoints(events, endpointOptions) }),
		hooks: {
			after: [
				{
					// Better Auth calls the matcher once the endpoint has answered: deciding on the answer
					// here spares every successful sign-in the cost of running a middleware.
					matcher: (context: { path?: string; context?: { returned?: unknown } }) =>
						!!context.path &&
						(context.path.startsWith("/sign-in/") || context.path.startsWith("/two-factor/verify")) &&
						context.context?.returned instanceof Error,
					handler: createAuthMiddleware(async (ctx) => {
						const returned = ctx.context.returned as { status?: unknown; body?: { code?: string } } | undefined;
						if (!(returned instanceof Error) || returned.status === "FOUND") return;
						const origin = originOf(options);
						const method = signInMethod(origin) ?? origin.path;
						let reason = failureReason(returned.body?.code);
						let userId: string | null = null;
						const email = (ctx.body as { email?: unknown } | undefined)?.email;
						if (reason === "invalid_email_or_password" && typeof email === "string") {
							// Better Auth answers both alike, on purpose; the log, read by admins, tells them apart.
							const user = await ctx.context.internalAdapter.findUserByEmail(email);
							reason = user ? "wrong_password" : "unknown_user";
							userId = user ? String(user.user.id) : null;
						}
						await events.record([
							{
								type: "sign_in.failed",
								outcome: "failure",
								userId,
								ipAddress: origin.ipAddress,
								userAgent: origin.userAgent,
								details: { method, reason },
							},
						]);
					}),
				},
			],
		},
	};
	return Object.assign(plugin, { [STORE_MARK]: "events" });
}

/** `storage` recording each refused request as a `rate_limited` event (one insert). */
export function withRateLimitEvents(storage: RateLimitStorage, events: EventStore): RateLimitStorage {
	return {
		...storage,
		[STORE_MARK]: "rateLimit",
		async consume(key, rule) {
			const result = await storage.consume(key, rule);
			if (!result.allowed) {
				// Better Auth keys a limit by `ip|path`; no request reaches the storage, so that is all there is.
				const bar = key.indexOf("|");
				await events.record([
					{
						type: "rate_limited",
						outcome: "failure",
						ipAddress: bar > 0 ? key.slice(0, bar) : null,
						details: { path: bar >= 0 ? key.slice(bar + 1) : key, retryAfter: result.retryAfter },
					},
				]);
			}
			return result;
		},
	} as RateLimitStorage;
}
