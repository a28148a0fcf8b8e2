/**
 * `createStores`/`fromClient` plumbing shared by every driver package: a
 * driver package turns its client into a `Driver` and hands it here.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import type { DBAdapter } from "@better-auth/core/db/adapter";
import { Kysely } from "kysely";
import { sealingAdapter } from "../adapter/adapter.js";
import { FieldSealer, type SealOptions, sealConfig } from "../adapter/sealed-fields.js";
import type { Driver } from "../driver/contract.js";
import { kyselyDialect } from "../driver/kysely-dialect.js";
import { SealedFieldConfigError } from "../errors.js";
import { fieldKeys } from "../keystore/field-keys.js";
import { type KeyStore, KeystoreNotConfiguredError, keyStore } from "../keystore/key-store.js";
import { type ApplyOptions, applyMigrations } from "../migrations/apply.js";
import type { MigrationPlan } from "../migrations/plan.js";
import type { SchemaOptions } from "../model.js";
import {
	type CallerTransaction,
	joinCallerTransactions,
	runCallerTransaction,
	runReadingFromPrimary,
} from "./caller-transaction.js";
import type { EventEndpointOptions } from "./event-endpoints.js";
import { eventsPlugin, withEvents, withRateLimitEvents } from "./event-wiring.js";
import { type EventStore, eventCompanions, eventStore } from "./events.js";
import { type PruneCount, type PruneOptions, prune } from "./prune.js";
import { type RateLimitStorage, rateLimitStorage } from "./rate-limit.js";
import { type PostgresSecondaryStorage, secondaryStorage } from "./secondary-storage.js";
import { STORE_MARK, type StoreName } from "./tables.js";

/** Options every driver package's `createStores`/`fromClient` accepts. */
export interface StoresOptions extends SchemaOptions {
	/** Also set Better Auth's `secondaryStorage` to the Postgres one in {@link Stores.applyTo}. Default false. */
	secondaryStorage?: boolean;
	/**
	 * The password that encrypts the JWT plugin's signing keys at rest
	 * ({@link Stores.keyStore}); e.g. `process.env.AUTHPG_KEYSTORE_PASSWORD`.
	 * Without it (or with an empty string) there is no key store, and
	 * `stores.migrate` does not create its tables.
	 */
	keystorePassword?: string;
	/**
	 * Keep the auth event log ({@link Stores.events}): {@link Stores.applyTo}
	 * wires it into Better Auth, and `stores.migrate` creates its table.
	 * `true` or an object turns it on. Default off.
	 */
	events?: boolean | EventsOptions;
	/**
	 * Secrets at rest: seal fields with AES-256-GCM and store lookup-only
	 * secrets as keyed hashes, under data keys held by the key store (so it
	 * needs `keystorePassword`). `true` seals the OAuth tokens of `account`
	 * and `verification.value`, and hashes the verification identifiers that
	 * carry a token; {@link SealOptions} chooses the fields. A query that
	 * filters or sorts on a sealed field throws `SealedFieldQueryError`. See
	 * docs/secrets-at-rest.md. Default off.
	 */
	seal?: boolean | SealOptions;
}

/** Options of the event log. */
export interface EventsOptions extends EventEndpointOptions {
	/**
	 * How long events are kept, in milliseconds; `prune` deletes older ones.
	 * Default: kept until deleted by hand.
	 */
	retention?: number;
}

/** Better Auth options as {@link Stores.applyTo} returns them. */
export type AppliedOptions<O extends BetterAuthOptions> = Omit<O, "database" | "rateLimit"> & {
	database: Stores["adapter"];
	rateLimit: NonNullable<O["rateLimit"]> & { customStorage: RateLimitStorage };
};

/** What a driver package hands an application. */
export interface Stores {
	/** The driver underneath (for `authpg` tooling and tests). */
	readonly driver: Driver;
	/** The Better Auth database adapter: `database: stores.adapter`. */
	readonly adapter: (options: BetterAuthOptions) => DBAdapter<BetterAuthOptions>;
	/** Better Auth's `rateLimit.customStorage`: one atomic statement per request. */
	readonly rateLimitStorage: RateLimitStorage;
	/** Better Auth's `secondaryStorage`, in an UNLOGGED table. */
	readonly secondaryStorage: PostgresSecondaryStorage;
	/**
	 * The encrypted key store for Better Auth's JWT plugin:
	 * `jwt({ adapter: stores.keyStore.jwtAdapter })`. Reading it throws
	 * {@link KeystoreNotConfiguredError} unless the stores were created with
	 * `keystorePassword`.
	 */
	readonly keyStore: KeyStore;
	/**
	 * The auth event log: `stores.events.list({ userId, type, since, until,
	 * cursor, limit })`. Present whether or not `events` is on (listing reads
	 * the table), but written only when the stores were created with `events`.
	 */
	readonly events: EventStore;
	/** A Kysely instance on the same connection or pool, for the application's own tables. */
	readonly kysely: Kysely<any>;
	/**
	 * Better Auth options with `database` set to {@link Stores.adapter},
	 * `rateLimit.customStorage` to {@link Stores.rateLimitStorage}, and
	 * `secondaryStorage` when the stores were created with `secondaryStorage: true`.
	 * With `events`, the adapter and the rate-limit storage also record the
	 * event log, and a plugin records failed sign-ins.
	 */
	applyTo<O extends BetterAuthOptions>(options: O): AppliedOptions<O>;
	/**
	 * Create what is missing for `options` — Better Auth's tables, columns and
	 * indexes, and these stores' tables — in one transaction.
	 */
	migrate(options: BetterAuthOptions, migrateOptions?: Omit<ApplyOptions, keyof SchemaOptions>): Promise<MigrationPlan>;
	/**
	 * Delete expired sessions, verifications, rate-limit and secondary-storage
	 * rows, signing keys past their grace period, and events past
	 * `events.retention` (whole month partitions dropped, the rest in
	 * batches), in bounded batches; counts per table (`dryRun`: counts only).
	 * It also creates the event log's upcoming month partitions. Run it on a
	 * schedule.
	 */
	prune(options: BetterAuthOptions, pruneOptions?: Omit<PruneOptions, keyof SchemaOptions>): Promise<PruneCount[]>;
	/**
	 * Run `fn` in one Postgres transaction together with every Better Auth
	 * call and store access made while it runs (`auth.api.signUpEmail(...)`
	 * included): all commit when `fn` resolves, all roll back when it rejects.
	 * Better Auth's own transactions inside become savepoints, as does a
	 * nested `stores.transaction`. Carried through AsyncLocalStorage.
	 *
	 * @throws {CallerTransactionUnsupportedError} where the runtime has no AsyncLocalStorage.
	 * @throws {CallerTransactionNotSupportedByDriverError} on a driver without interactive transactions.
	 */
	transaction<T>(fn: (tx: CallerTransaction) => Promise<T>): Promise<T>;
	/**
	 * Run `fn` with every read these stores make while it runs — Better
	 * Auth's `findOne`, `findMany` and `count`, from any `auth.api` call
	 * inside — sent to the primary instead of a replica: for the one request
	 * that must see the latest state (e.g. checking a session right after
	 * revoking it elsewhere). Carried through AsyncLocalStorage; nested calls
	 * are fine. Without replicas it changes nothing.
	 *
	 * @example
	 * ```ts
	 * const session = await stores.readFromPrimary(() => auth.api.getSession({ headers }));
	 * ```
	 *
	 * @throws {PrimaryReadsUnsupportedError} where the runtime has no AsyncLocalStorage
	 * (then route whole models with `replicaReads: { session: "primary" }` instead).
	 */
	readFromPrimary<T>(fn: () => Promise<T>): Promise<T>;
	/** End the connection(s) these stores own; a client handed in stays open. */
	close(): Promise<void>;
}

/** Build stores over `driver`. `close` is what ends the connection (if it is ours to end). */
export function storesFor(given: Driver, options: StoresOptions, close: () => Promise<void>): Stores {
	// Every store goes through this, so all of them join a transaction opened by `stores.transaction`.
	const driver = joinCallerTransactions(given);
	const schemaOptions: SchemaOptions = { schema: options.schema, usePlural: options.usePlural };
	const password = options.keystorePassword || undefined;
	const sealing = sealConfig(options.seal);
	if (sealing && !password) {
		throw new SealedFieldConfigError(
			"`seal` needs the key store, which holds the data keys: pass `keystorePassword` too (e.g. `keystorePassword: process.env.AUTHPG_KEYSTORE_PASSWORD`).",
		);
	}
	const sealer =
		sealing && password
			? new FieldSealer(sealing, fieldKeys(driver, { password, schema: options.schema }), options.seal)
			: undefined;
	const adapter = sealingAdapter(driver, schemaOptions, sealer);
	const rateLimit = rateLimitStorage(driver, { schema: options.schema });
	const kv = secondaryStorage(driver, { schema: options.schema });
	const used: StoreName[] = options.secondaryStorage ? ["rateLimit", "secondaryStorage"] : ["rateLimit"];
	if (password) used.push("keyStore");
	const recording = options.events !== undefined && options.events !== false;
	if (recording) used.push("events");
	const events = eventStore(driver, { schema: options.schema });
	const companions = eventCompanions(options.schema);
	const retention = typeof options.events === "object" ? options.events.retention : undefined;
	const endpointOptions = typeof options.events === "object" ? options.events : {};
	const limiter = recording ? withRateLimitEvents(rateLimit, events) : rateLimit;
	let keys: KeyStore | undefined;
	let kysely: Kysely<any> | undefined;
	let closing: Promise<void> | undefined;
	return {
		driver,
		adapter,
		rateLimitStorage: rateLimit,
		secondaryStorage: kv,
		events,
		get keyStore() {
			if (!password) throw new KeystoreNotConfiguredError();
			keys ??= keyStore(driver, { password, schema: options.schema });
			return keys;
		},
		get kysely() {
			kysely ??= new Kysely<any>({ dialect: kyselyDialect(driver) });
			return kysely;
		},
		applyTo: (authOptions) => ({
			...authOptions,
			database: markSealing(
				recording ? (o: BetterAuthOptions) => withEvents(adapter(o), events, driver, o, companions) : adapter,
				sealer !== undefined,
			),
			rateLimit: { ...authOptions.rateLimit, customStorage: limiter },
			...(options.secondaryStorage ? { secondaryStorage: kv } : {}),
			...(recording
				? { plugins: [...(authOptions.plugins ?? []), eventsPlugin(events, authOptions, retention, endpointOptions)] }
				: {}),
		}),
		migrate: (authOptions, migrateOptions) =>
			applyMigrations(driver, authOptions, { stores: used, ...migrateOptions, ...schemaOptions }),
		prune: (authOptions, pruneOptions) =>
			prune(driver, authOptions, {
				...(retention === undefined ? {} : { eventRetentionMs: retention }),
				...pruneOptions,
				...schemaOptions,
			}),
		transaction: (fn) => runCallerTransaction(driver, fn),
		readFromPrimary: (fn) => runReadingFromPrimary(driver, fn),
		close() {
			closing ??= close();
			return closing;
		},
	};
}
/**
 * Mark an adapter that seals fields, so the planner (`authpg migrate` reads the
 * options, not the stores) creates the key store's tables its data keys live in.
 */
function markSealing<A extends object>(adapter: A, sealing: boolean): A {
	if (sealing && !(STORE_MARK in adapter))
		Object.defineProperty(adapter, STORE_MARK, { value: "keyStore" satisfies StoreName });
	return adapter;
}

interface Registered {
	driver: Driver;
	users: number;
}

const REGISTRY = Symbol.for("authpg.devConnections");

function isDevelopment(): boolean {
	// A Workers isolate serves many requests, and a connection must not outlive its request: never share there.
	if ((globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === "Cloudflare-Workers")
		return false;
	const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
	return env?.NODE_ENV === "development";
}

/**
 * A driver for `key`, shared across hot reloads while `NODE_ENV` is
 * `development` (Next.js and Vite re-run modules on every edit; without this
 * each edit opens new connections until Postgres refuses more). Elsewhere
 * every call gets its own driver. The returned `release` ends the driver
 * when its last user lets go.
 */
export function sharedDriver(key: string, create: () => Driver): { driver: Driver; release: () => Promise<void> } {
	if (!isDevelopment()) {
		const driver = create();
		return { driver, release: () => driver.close() };
	}
	const holder = globalThis as Record<symbol, Map<string, Registered> | undefined>;
	const registry = holder[REGISTRY] ?? new Map<string, Registered>();
	holder[REGISTRY] = registry;
	let entry = registry.get(key);
	if (!entry) {
		entry = { driver: create(), users: 0 };
		registry.set(key, entry);
	}
	entry.users++;
	const held = entry;
	let released = false;
	return {
		driver: held.driver,
		async release() {
			if (released) return;
			released = true;
			if (--held.users > 0) return;
			if (registry.get(key) === held) registry.delete(key);
			await held.driver.close();
		},
	};
}
