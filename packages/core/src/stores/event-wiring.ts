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
import type { DBAdapter, DBTransactionAdapter } from "@better-auth/core/db/adapter";
import { type CompanionCreate, CREATE_WITH_COMPANION, type CreateArgs } from "../adapter/companion.js";
import type { Driver } from "../driver/contract.js";
import { inCallerTransaction } from "./caller-transaction.js";
import { type EventEndpointOptions, eventEndpoints } from "./event-endpoints.js";
import {
	deletion,
	eventsOfCreate,
	eventsOfUpdate,
	failureReason,
	originOf,
	rowFields,
	signInMethod,
	userCreatedBy,
} from "./event-kinds.js";
import type { AuthEventInput, EventStore, eventCompanions } from "./events.js";
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
			if (args.model === "user") userCreatedBy(origin);
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
