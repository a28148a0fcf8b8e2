/**
 * The benchmarked operations. Each `prepare` runs untimed before a
 * measurement and returns the timed call (which checks its answer, so a
 * subject cannot win by returning nothing) and an optional untimed cleanup.
 */

import { makeSignature } from "better-auth/crypto";
import { BENCH_PASSWORD } from "./password.js";
import { type DataSet, insertVerifications, type SqlClient } from "./seed.js";
import type { Subject } from "./subjects.js";

/** What one measurement needs from its operation. */
export interface Prepared {
	/** The timed call; `i` counts calls within this measurement (0, 1, 2, …). */
	call(i: number): Promise<void>;
	/** Calls available (rows to consume); the measurement ends early when they run out. */
	limit?: number;
	/** Untimed, after the measurement. */
	cleanup?(): Promise<void>;
}

/** Context of one measurement. */
export interface MeasurementContext {
	subject: Subject;
	/** Position of the subject in the run's subject list. */
	subjectIndex: number;
	/** Unique per measurement in this run. */
	measurement: number;
	/** Calls the subject is expected to manage, at most (sizes consumable supplies). */
	budget: number;
	/** An untimed connection for setup and cleanup, to the subject's database (the shared server, or its own). */
	admin: SqlClient;
}

/** One benchmarked operation. */
export interface Operation {
	key: string;
	label: string;
	/** Touches one row: the target is exactly one round trip. */
	singleRow: boolean;
	/** Whether `subject` can run it (getSession needs a Better Auth instance). */
	supports?(subject: Subject): boolean;
	/** Run only when `--operations` names it (or `--seal`): default runs stay as they were. */
	optIn?: boolean;
	prepare(ctx: MeasurementContext): Promise<Prepared>;
}

/** Settings shared by the operations. */
export interface OperationSettings {
	data: DataSet;
	secret: string;
	basePath: string;
	baseURL: string;
	/** Distinct rate-limit clients per subject. */
	rateLimitClients: number;
}

const WEEK = 7 * 86_400_000;
/** OAuth accounts per subject for `findOneAccount`. */
const OAUTH_ACCOUNTS = 1000;

function randomText(length: number): string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	return Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");
}

/** Untimed: empty the event log a subject with events on wrote to, so every measurement starts alike. */
async function clearEvents(ctx: MeasurementContext): Promise<void> {
	if (ctx.subject.events) await ctx.admin.query(`truncate "authpg_event"`);
}

function fail(op: string, subject: Subject, what: string): never {
	throw new Error(`${op}: ${subject.label} returned ${what}`);
}

/** The operations in run order. */
export async function operations(settings: OperationSettings): Promise<Operation[]> {
	const { tokens, readerIds, writerIds, writerEmails, counterKeys } = settings.data;
	// Each measurement starts elsewhere in the (shuffled) token list, so no subject replays another's rows.
	const from = <T>(list: T[], ctx: MeasurementContext) => {
		const offset = (ctx.measurement * 7919) % list.length;
		return (i: number) => list[(offset + i) % list.length];
	};
	const sessionCookies = await Promise.all(
		tokens.slice(0, 5000).map(async (token) => {
			const signed = `${token}.${await makeSignature(token, settings.secret)}`;
			return new Headers({ cookie: `better-auth.session_token=${encodeURIComponent(signed)}` });
		}),
	);
	const warmedClients = new Set<string>();
	// Per subject: the OAuth accounts it created through its own adapter (sealed there if it seals), by id.
	const oauthAccounts = new Map<string, Promise<{ id: string; accessToken: string }[]>>();

	return [
		{
			key: "findOneByToken",
			label: "findOne session by token",
			singleRow: true,
			async prepare(ctx) {
				const token = from(tokens, ctx);
				return {
					async call(i) {
						const row = await ctx.subject.target.findSessionByToken(token(i));
						if (!row) fail("findOne session by token", ctx.subject, "no session");
					},
				};
			},
		},
		{
			key: "findOneJoin",
			label: "findOne session + user (join)",
			singleRow: true,
			async prepare(ctx) {
				const token = from(tokens, ctx);
				return {
					async call(i) {
						const row = await ctx.subject.target.findSessionWithUser(token(i));
						if (!row?.user) fail("findOne session + user", ctx.subject, "no session or no user");
					},
				};
			},
		},
		{
			key: "createSession",
			label: "create session",
			singleRow: true,
			async prepare(ctx) {
				const expiresAt = new Date(Date.now() + WEEK);
				const prefix = `created-${ctx.measurement}-`;
				return {
					async call(i) {
						const row = await ctx.subject.target.createSession(writerIds[i % writerIds.length], prefix + i, expiresAt);
						if (!row) fail("create session", ctx.subject, "nothing");
					},
					async cleanup() {
						// Only the writers' sessions go: the seeded data stays as it was.
						await ctx.admin.query(`delete from "session" where "userId" = any($1)`, [writerIds]);
						await clearEvents(ctx);
					},
				};
			},
		},
		{
			key: "updateSession",
			label: "update session",
			singleRow: true,
			async prepare(ctx) {
				const token = from(tokens, ctx);
				const expiresAt = new Date(Date.now() + WEEK);
				return {
					async call(i) {
						const row = await ctx.subject.target.updateSession(token(i), expiresAt);
						if (!row) fail("update session", ctx.subject, "no updated row");
					},
				};
			},
		},
		{
			key: "findManySessions",
			label: "findMany sessions of a user (sorted, limit 10)",
			singleRow: false,
			async prepare(ctx) {
				const user = from(readerIds, ctx);
				return {
					async call(i) {
						const rows = await ctx.subject.target.listSessions(user(i));
						if (rows.length < 1 || rows.length > 10) fail("findMany", ctx.subject, `${rows.length} rows`);
					},
				};
			},
		},
		{
			key: "count",
			label: "count sessions of a user",
			singleRow: true,
			async prepare(ctx) {
				const user = from(readerIds, ctx);
				return {
					async call(i) {
						const n = await ctx.subject.target.countSessions(user(i));
						if (!(n >= 1 && n <= 12)) fail("count", ctx.subject, String(n));
					},
				};
			},
		},
		{
			key: "consumeOne",
			label: "consumeOne verification",
			singleRow: true,
			async prepare(ctx) {
				const prefix = `consume:${ctx.measurement}:`;
				const identifiers = Array.from({ length: ctx.budget }, (_, i) => prefix + i);
				await insertVerifications(ctx.admin, identifiers);
				return {
					limit: identifiers.length,
					async call(i) {
						const row = await ctx.subject.target.consumeVerification(identifiers[i]);
						if (!row) fail("consumeOne", ctx.subject, "nothing to consume");
					},
					async cleanup() {
						await ctx.admin.query(`delete from "verification" where "identifier" like 'consume:%'`);
					},
				};
			},
		},
		{
			key: "incrementOne",
			label: "incrementOne rate-limit counter",
			singleRow: true,
			async prepare(ctx) {
				const key = from(counterKeys, ctx);
				return {
					async call(i) {
						const row = await ctx.subject.target.incrementCounter(key(i), Date.now());
						if (!row) fail("incrementOne", ctx.subject, "no row");
					},
				};
			},
		},
		{
			key: "rateLimit",
			label: "rate-limit consume",
			singleRow: true,
			async prepare(ctx) {
				// Clients of one subject never share a key with another's; each one's window is open and far
				// from its max, so every call is the common case: an allowed request, counted.
				const url = `${settings.baseURL}${settings.basePath}/get-session`;
				const requests = Array.from(
					{ length: settings.rateLimitClients },
					(_, k) =>
						new Request(url, {
							headers: { "x-forwarded-for": `10.${ctx.subjectIndex + 1}.${k >> 8}.${k & 255}` },
						}),
				);
				const run = async (i: number) => {
					const denied = await ctx.subject.target.rateLimit(requests[i % requests.length]);
					if (denied) fail("rate-limit consume", ctx.subject, "a denial");
				};
				if (!warmedClients.has(ctx.subject.key)) {
					// Untimed: each client's first request creates its row; the benchmark measures the steady state.
					for (let i = 0; i < requests.length; i++) await run(i);
					warmedClients.add(ctx.subject.key);
				}
				const offset = ctx.measurement * 7919;
				return { call: (i) => run(offset + i) };
			},
		},
		{
			key: "signIn",
			label: "auth.api.signInEmail",
			singleRow: false,
			supports: (subject) => subject.target.signIn !== undefined,
			async prepare(ctx) {
				// As a browser's request would carry them: the session row (and an event) records both.
				const headers = new Headers({
					"user-agent": "authpg-bench",
					"x-forwarded-for": `10.${ctx.subjectIndex + 1}.0.1`,
				});
				const offset = (ctx.measurement * 7919) % writerEmails.length;
				return {
					async call(i) {
						const email = writerEmails[(offset + i) % writerEmails.length];
						const result = await ctx.subject.target.signIn!(email, BENCH_PASSWORD, headers);
						if (typeof result?.token !== "string") fail("sign-in", ctx.subject, "no session token");
					},
					async cleanup() {
						// The writers have no seeded sessions: what is theirs now, the sign-ins made.
						await ctx.admin.query(`delete from "session" where "userId" = any($1)`, [writerIds]);
						await clearEvents(ctx);
					},
				};
			},
		},
		{
			key: "findOneAccount",
			label: "findOne account by id (3 OAuth tokens)",
			singleRow: true,
			optIn: true,
			supports: (subject) => subject.target.findAccount !== undefined,
			async prepare(ctx) {
				const { target, key } = ctx.subject;
				let accounts = oauthAccounts.get(key);
				if (!accounts) {
					// Untimed, once per subject: accounts as a GitHub link stores them (token lengths as GitHub
					// and an OIDC id token have them), written by the subject itself, so `pool-sealed`'s are sealed.
					accounts = (async () => {
						const made = [];
						for (let k = 0; k < OAUTH_ACCOUNTS; k++) {
							const tokens = {
								accessToken: `gho_${randomText(36)}`,
								refreshToken: `ghr_${randomText(76)}`,
								idToken: `eyJ${randomText(600)}`,
							};
							const id = await target.createOAuthAccount!(readerIds[k % readerIds.length], `${key}-${k}`, tokens);
							made.push({ id, accessToken: tokens.accessToken });
						}
						return made;
					})();
					oauthAccounts.set(key, accounts);
				}
				const account = from(await accounts, ctx);
				return {
					async call(i) {
						const { id, accessToken } = account(i);
						const row = await target.findAccount!(id);
						// Better Auth must get the clear token back: a sealed subject cannot win by not opening it.
						if (row?.accessToken !== accessToken) fail("findOne account", ctx.subject, "another access token");
					},
				};
			},
		},
		{
			key: "getSession",
			label: "auth.api.getSession (cookie)",
			singleRow: false,
			supports: (subject) => subject.target.getSession !== undefined,
			async prepare(ctx) {
				const headers = from(sessionCookies, ctx);
				return {
					async call(i) {
						const result = (await ctx.subject.target.getSession!(headers(i))) as { user?: unknown } | null;
						if (!result?.user) fail("getSession", ctx.subject, "no session");
					},
				};
			},
		},
	];
}
