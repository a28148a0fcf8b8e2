/**
 * What every subject must do, one method per benchmarked operation. Adapter
 * subjects implement it through Better Auth's `DBAdapter` (the adapter Better
 * Auth itself calls, from `auth.$context`); the floor through hand-written SQL.
 */

/** One benchmarked code path. Each method resolves to the row(s) so the runner can check the answer. */
export interface Target {
	findSessionByToken(token: string): Promise<unknown>;
	findSessionWithUser(token: string): Promise<{ user?: unknown } | null>;
	createSession(userId: string, token: string, expiresAt: Date): Promise<unknown>;
	updateSession(token: string, expiresAt: Date): Promise<unknown>;
	listSessions(userId: string): Promise<unknown[]>;
	countSessions(userId: string): Promise<number>;
	consumeVerification(identifier: string): Promise<unknown>;
	incrementCounter(key: string, now: number): Promise<unknown>;
	/** One rate-limit decision, through Better Auth's own request-phase rate limiter; resolves to a 429 Response when denied. */
	rateLimit(request: Request): Promise<unknown>;
	/** `auth.api.getSession` with a session cookie; undefined for subjects with no Better Auth instance (the floor). */
	getSession?(headers: Headers): Promise<unknown>;
	/** `auth.api.signInEmail`; undefined for subjects with no Better Auth instance (the floor). Resolves to its answer. */
	signIn?(email: string, password: string, headers: Headers): Promise<{ token?: unknown } | null>;
	/** Create a linked OAuth account with its three tokens (untimed setup); undefined for the floors. Resolves to its id. */
	createOAuthAccount?(userId: string, accountId: string, tokens: OAuthTokens): Promise<string>;
	/** findOne account by id; undefined for the floors. Resolves to the row as Better Auth gets it. */
	findAccount?(id: string): Promise<Partial<OAuthTokens> | null>;
}

/** The tokens of a linked OAuth account: the fields `seal: true` seals. */
export interface OAuthTokens {
	accessToken: string;
	refreshToken: string;
	idToken: string;
}
