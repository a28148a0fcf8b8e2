/**
 * What the event-log suites share: Better Auth on a driver's stores with the
 * log on, requests through `auth.handler`, and reading a user's events back.
 */
import type { AuthEvent, Stores } from "@authpg/core";
import { betterAuth } from "better-auth";

export const NS = "authpg_events";
export const BASE = "http://localhost:3000/api/auth";
export const IP = "203.0.113.9";
export const UA = "authpg-events-test/1.0";
export const PASSWORD = "correct horse battery";
export const NEW_PASSWORD = "staple battery horse correct";

export function authOn(stores: Stores) {
	return betterAuth(
		stores.applyTo({
			emailAndPassword: { enabled: true },
			baseURL: "http://localhost:3000",
			secret: "authpg-conformance-secret-0123456789abcdef",
			rateLimit: {
				enabled: true,
				window: 60,
				max: 1000,
				// Better Auth allows 3 sign-ins (and sign-ups) per 10 s by default; these tests make more than that.
				customRules: {
					"/ok": { window: 60, max: 1 },
					"/sign-in/*": { window: 60, max: 1000 },
					"/sign-up/*": { window: 60, max: 1000 },
				},
			},
		}),
	);
}

/** A request through `auth.handler` from a fixed IP and user agent. */
export async function call(
	auth: { handler(request: Request): Promise<Response> },
	path: string,
	body?: unknown,
	cookie?: string,
) {
	const headers = new Headers({ "x-forwarded-for": IP, "user-agent": UA, origin: "http://localhost:3000" });
	if (body !== undefined) headers.set("content-type", "application/json");
	if (cookie) headers.set("cookie", cookie);
	const response = await auth.handler(
		new Request(`${BASE}${path}`, {
			method: body === undefined ? "GET" : "POST",
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
		}),
	);
	const cookies = response.headers
		.getSetCookie()
		.map((c) => c.split(";")[0]!)
		.filter((c) => !c.endsWith("="));
	const text = await response.text();
	const json = (text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : null) as {
		user: { id: string };
		token: string;
	};
	return { status: response.status, cookie: cookies.join("; "), json };
}

export const unique = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}@example.com`;

/** Every event of `userId`, oldest first, paging through `list` (so pagination is exercised too). */
export async function eventsOf(stores: Stores, userId: string): Promise<AuthEvent[]> {
	const all: AuthEvent[] = [];
	let cursor: string | undefined;
	do {
		const page = await stores.events.list({ userId, limit: 2, ...(cursor ? { cursor } : {}) });
		all.push(...page.events);
		cursor = page.cursor ?? undefined;
	} while (cursor);
	return all.reverse();
}

export const brief = (e: AuthEvent) => [e.type, e.outcome, e.details];
