/**
 * A {@link Target} over a Better Auth instance: the adapter operations go to
 * `(await auth.$context).adapter` — the adapter Better Auth itself calls, with
 * whatever wrapping Better Auth gives it — and `getSession` to `auth.api`.
 */
import type { DBAdapter } from "@better-auth/core/db/adapter";
import type { Target } from "./target.js";

/** The slice of a `betterAuth(...)` instance the benchmark uses. */
export interface AuthInstance {
	$context: Promise<unknown>;
	api: {
		getSession(input: { headers: Headers }): Promise<unknown>;
		signInEmail(input: {
			body: { email: string; password: string };
			headers: Headers;
		}): Promise<{ token?: unknown } | null>;
	};
}

type RateLimiter = (request: Request, ctx: unknown) => Promise<Response | undefined>;

let rateLimiter: Promise<RateLimiter> | undefined;

/**
 * Better Auth's request-phase rate limiter (`onRequestRateLimit`): it resolves
 * the key and rule and calls the configured storage's `consume`, exactly as
 * `auth.handler` does. Not exported by Better Auth, so it is loaded from its
 * dist file (the benchmark pins the Better Auth version).
 */
function loadRateLimiter(): Promise<RateLimiter> {
	rateLimiter ??= (async () => {
		const url = new URL("./api/rate-limiter/index.mjs", import.meta.resolve("better-auth"));
		const module = (await import(url.href)) as { onRequestRateLimit?: RateLimiter };
		if (typeof module.onRequestRateLimit !== "function") {
			throw new Error(`better-auth's rate limiter moved: no onRequestRateLimit in ${url.href}`);
		}
		return module.onRequestRateLimit;
	})();
	return rateLimiter;
}

/** A target over `auth`; the adapter is taken from its context once. */
export async function adapterTarget(auth: AuthInstance): Promise<Target> {
	const ctx = (await auth.$context) as { adapter: DBAdapter };
	const adapter = ctx.adapter;
	const onRequestRateLimit = await loadRateLimiter();
	return {
		findSessionByToken: (token) => adapter.findOne({ model: "session", where: [{ field: "token", value: token }] }),
		findSessionWithUser: (token) =>
			adapter.findOne({ model: "session", where: [{ field: "token", value: token }], join: { user: true } }),
		createSession: (userId, token, expiresAt) => {
			const now = new Date();
			return adapter.create({
				model: "session",
				data: {
					userId,
					token,
					expiresAt,
					ipAddress: "10.0.0.1",
					userAgent: "authpg-bench",
					createdAt: now,
					updatedAt: now,
				},
			});
		},
		updateSession: (token, expiresAt) =>
			adapter.update({ model: "session", where: [{ field: "token", value: token }], update: { expiresAt } }),
		listSessions: (userId) =>
			adapter.findMany({
				model: "session",
				where: [{ field: "userId", value: userId }],
				sortBy: { field: "createdAt", direction: "desc" },
				limit: 10,
			}),
		countSessions: (userId) => adapter.count({ model: "session", where: [{ field: "userId", value: userId }] }),
		consumeVerification: (identifier) =>
			adapter.consumeOne({ model: "verification", where: [{ field: "identifier", value: identifier }] }),
		incrementCounter: (key, now) =>
			adapter.incrementOne({
				model: "rateLimit",
				where: [{ field: "key", value: key }],
				increment: { count: 1 },
				set: { lastRequest: now },
			}),
		rateLimit: (request) => onRequestRateLimit(request, ctx),
		getSession: (headers) => auth.api.getSession({ headers }),
		signIn: (email, password, headers) => auth.api.signInEmail({ body: { email, password }, headers }),
		async createOAuthAccount(userId, accountId, tokens) {
			const now = new Date();
			const row = await adapter.create<Record<string, unknown>, { id: string }>({
				model: "account",
				data: {
					userId,
					accountId,
					providerId: "github",
					...tokens,
					scope: "read:user",
					createdAt: now,
					updatedAt: now,
				},
			});
			return row.id;
		},
		findAccount: (id) => adapter.findOne({ model: "account", where: [{ field: "id", value: id }] }),
	};
}
