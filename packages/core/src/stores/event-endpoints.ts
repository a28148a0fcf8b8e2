/**
 * The event log's Better Auth endpoints: the signed-in user's own recent
 * security events (`GET /events/list`, `auth.api.listEvents`) and an admin
 * listing of anyone's (`GET /admin/events/list`, `auth.api.adminListEvents`).
 *
 * `@authpg/core` depends on `@better-auth/core` only, not on `better-auth`,
 * whose `sessionMiddleware` and admin `hasPermission` live there; so the
 * session is resolved as Better Auth's `getSession` does it (the signed
 * session cookie, then `internalAdapter.findSession`; the bearer plugin turns
 * an `Authorization` header into that cookie before this runs), and the admin
 * plugin's permission check is its documented rule, read from the plugin's
 * own options.
 */
import type { BetterAuthPlugin } from "@better-auth/core";
import { createAuthEndpoint } from "@better-auth/core/api";
import { APIError } from "@better-auth/core/error";
import { InvalidValueError } from "../errors.js";
import type { AuthEventType, EventPage, EventStore, ListEventsOptions } from "./events.js";

/** A permission in the admin plugin's access-control form: resource → actions. */
export type AdminPermission = Record<string, string[]>;

/** Who may use the admin listing when Better Auth's admin plugin is not installed. */
export type EventsAdminCheck = (user: { id: string } & Record<string, unknown>) => boolean | Promise<boolean>;

/** Options of the event log's endpoints (`events` in `createStores`). */
export interface EventEndpointOptions {
	/** Serve `GET /events/list` and `GET /admin/events/list`. Default true. */
	endpoints?: boolean;
	/**
	 * What the admin plugin must grant the caller's role for `GET
	 * /admin/events/list`. Default `{ session: ["list"] }`, the permission the
	 * admin plugin itself asks to list a user's sessions.
	 */
	adminPermission?: AdminPermission;
	/**
	 * Without Better Auth's admin plugin: who may use the admin listing.
	 * Without this and without the plugin, the admin listing refuses everyone.
	 */
	isAdmin?: EventsAdminCheck;
}

/** The admin plugin's default roles (better-auth/plugins/admin/access), for when the plugin has no `roles` option. */
const DEFAULT_ADMIN_ROLES: Record<string, Record<string, readonly string[]>> = {
	admin: {
		user: [
			"create",
			"list",
			"set-role",
			"ban",
			"impersonate",
			"delete",
			"set-password",
			"set-email",
			"set-phone",
			"get",
			"update",
		],
		session: ["list", "revoke", "delete"],
	},
	user: {},
};

interface AdminPluginOptions {
	adminUserIds?: string[];
	defaultRole?: string;
	roles?: Record<string, { authorize(request: AdminPermission): { success: boolean } } | undefined>;
}

/** The admin plugin's `hasPermission` rule: listed admin ids, then any of the user's comma-separated roles. */
function adminAllows(options: AdminPluginOptions, user: { id: string; role?: unknown }, wanted: AdminPermission) {
	if (options.adminUserIds?.includes(user.id)) return true;
	const roles = String(user.role || options.defaultRole || "user").split(",");
	for (const role of roles) {
		if (options.roles) {
			if (options.roles[role]?.authorize(wanted)?.success) return true;
			continue;
		}
		const granted = DEFAULT_ADMIN_ROLES[role];
		if (
			granted &&
			Object.entries(wanted).every(([resource, actions]) => actions.every((a) => granted[resource]?.includes(a)))
		)
			return true;
	}
	return false;
}

type Query = Record<string, unknown>;

const one = (value: unknown): string | undefined =>
	Array.isArray(value) ? (value.length ? String(value[value.length - 1]) : undefined) : ((value ?? undefined) as never);

/** `type` may be repeated (`?type=a&type=b`) or comma-separated. */
function typesOf(value: unknown): AuthEventType[] | undefined {
	if (value === undefined || value === null || value === "") return undefined;
	const list = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(","));
	return list.map((t) => t.trim()).filter(Boolean) as AuthEventType[];
}

function dateOf(name: string, value: unknown): Date | undefined {
	const text = one(value);
	if (text === undefined || text === "") return undefined;
	const date = new Date(text);
	if (Number.isNaN(date.getTime())) throw APIError.fromStatus("BAD_REQUEST", { message: `\`${name}\` is not a date.` });
	return date;
}

/** The list options a request's query asks for; `userId` only where the caller may choose it. */
function listOptions(query: Query, withUser: boolean): ListEventsOptions {
	const limitText = one(query.limit);
	const limit = limitText === undefined || limitText === "" ? undefined : Number(limitText);
	const cursor = one(query.cursor);
	const userId = withUser ? one(query.userId) : undefined;
	const type = typesOf(query.type);
	const since = dateOf("since", query.since);
	const until = dateOf("until", query.until);
	return {
		...(limit === undefined ? {} : { limit }),
		...(cursor ? { cursor } : {}),
		...(userId ? { userId } : {}),
		...(type?.length ? { type } : {}),
		...(since ? { since } : {}),
		...(until ? { until } : {}),
	};
}

/** A page as JSON: dates as ISO strings. */
function pageJson(page: EventPage) {
	return {
		events: page.events.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })),
		cursor: page.cursor,
	};
}

async function list(events: EventStore, options: ListEventsOptions) {
	try {
		return pageJson(await events.list(options));
	} catch (error) {
		// A bad limit or cursor is the caller's mistake, not a server error.
		if (error instanceof InvalidValueError) throw APIError.fromStatus("BAD_REQUEST", { message: error.message });
		throw error;
	}
}

interface EndpointContext {
	query?: Query;
	context: {
		secret: string;
		authCookies: { sessionToken: { name: string } };
		internalAdapter: {
			findSession(
				token: string,
			): Promise<{ session: { expiresAt: Date | string }; user: { id: string } & Record<string, unknown> } | null>;
		};
		options: { plugins?: unknown[] | undefined };
	};
	getSignedCookie(name: string, secret: string): Promise<string | null | false | undefined>;
}

/** The signed-in user, or a 401. */
async function signedInUser(ctx: EndpointContext) {
	const token = await ctx.getSignedCookie(ctx.context.authCookies.sessionToken.name, ctx.context.secret);
	const found = token ? await ctx.context.internalAdapter.findSession(token) : null;
	if (!found || new Date(found.session.expiresAt).getTime() <= Date.now()) {
		throw APIError.fromStatus("UNAUTHORIZED");
	}
	return found.user;
}

/**
 * The endpoints of the event log's plugin. Reads only: they never write an
 * event, and the plugin's sign-in hook does not match their paths.
 */
export function eventEndpoints(events: EventStore, options: EventEndpointOptions): BetterAuthPlugin["endpoints"] {
	const permission = options.adminPermission ?? { session: ["list"] };
	return {
		/**
		 * `GET /events/list`: the signed-in user's own events, newest first.
		 * Query: `limit` (1–1000, default 50), `cursor` (the previous page's),
		 * `type` (repeated or comma-separated), `since`, `until` (ISO dates).
		 */
		listEvents: createAuthEndpoint("/events/list", { method: "GET" }, async (ctx) => {
			const c = ctx as unknown as EndpointContext;
			const user = await signedInUser(c);
			return ctx.json(await list(events, { ...listOptions(c.query ?? {}, false), userId: String(user.id) }));
		}),
		/**
		 * `GET /admin/events/list`: anyone's events (`userId` to choose whose),
		 * for a caller the admin plugin grants `adminPermission`, or, without
		 * that plugin, whom `isAdmin` accepts. Same query as `/events/list`.
		 */
		adminListEvents: createAuthEndpoint("/admin/events/list", { method: "GET" }, async (ctx) => {
			const c = ctx as unknown as EndpointContext;
			const user = await signedInUser(c);
			const adminPlugin = c.context.options.plugins?.find(
				(p): p is { id: "admin"; options?: AdminPluginOptions } => (p as { id?: unknown })?.id === "admin",
			);
			const allowed = adminPlugin
				? adminAllows(adminPlugin.options ?? {}, user, permission)
				: options.isAdmin
					? await options.isAdmin(user)
					: false;
			if (!allowed) throw APIError.fromStatus("FORBIDDEN", { message: "Not allowed to list users' events." });
			return ctx.json(await list(events, listOptions(c.query ?? {}, true)));
		}),
	};
}
