/**
 * The auth event log (`stores.events`): who signed in, from where and how,
 * what failed and why, who revoked which session, which credential changed.
 * Rows live in `authpg_event`, range-partitioned by month on `created_at`.
 *
 * `record` goes through the stores' driver, so it joins the transaction open
 * in the async context (Better Auth's own, or `stores.transaction`): an event
 * written beside its change commits or rolls back with it. Ids are UUIDv7
 * made here, strictly increasing within a process, so events written in one
 * transaction (same database time to the microsecond, or coarser on PGlite)
 * still list in the order they happened; `created_at` is the database's clock.
 */
import { type RawBuilder, sql } from "kysely";
import { COMPANION_ROW, type Companion } from "../adapter/companion.js";
import { compiler, statementName } from "../compiler.js";
import type { Driver } from "../driver/contract.js";
import { InvalidValueError, toQueryError } from "../errors.js";
import { EVENT_TABLE } from "./tables.js";

/** What happened. */
export type AuthEventType =
	| "user.created"
	| "sign_in.succeeded"
	| "sign_in.failed"
	| "session.created"
	| "sign_out"
	| "session.revoked"
	| "password.changed"
	| "password.reset_requested"
	| "password.reset_completed"
	| "email.verified"
	| "email.changed"
	| "two_factor.enabled"
	| "two_factor.disabled"
	| "account.linked"
	| "account.unlinked"
	| "organization.member_added"
	| "organization.member_removed"
	| "organization.member_role_changed"
	| "rate_limited";

/** An event as it is written: everything but the id and the time, which the store assigns. */
export interface AuthEventInput {
	readonly type: AuthEventType;
	readonly outcome: "success" | "failure";
	/** The user the event is about. */
	readonly userId?: string | null;
	readonly sessionId?: string | null;
	/** Who acted, when not the user themself (an admin revoking a session). */
	readonly actorId?: string | null;
	/** As Better Auth resolves it (`advanced.ipAddress`). */
	readonly ipAddress?: string | null;
	readonly userAgent?: string | null;
	/** Small and never secret: a method, a reason, a scope. */
	readonly details?: Readonly<Record<string, unknown>>;
}

/** An event as {@link EventStore.list} returns it. */
export interface AuthEvent {
	/** A UUIDv7: time-ordered. */
	readonly id: string;
	/** The database's clock when the event was written. */
	readonly createdAt: Date;
	readonly type: AuthEventType;
	readonly outcome: "success" | "failure";
	readonly userId: string | null;
	readonly sessionId: string | null;
	readonly actorId: string | null;
	readonly ipAddress: string | null;
	readonly userAgent: string | null;
	readonly details: Record<string, unknown>;
}

/** Filters and page of {@link EventStore.list}. */
export interface ListEventsOptions {
	userId?: string;
	/** One type or several. */
	type?: AuthEventType | readonly AuthEventType[];
	/** Events at or after this instant. */
	since?: Date;
	/** Events before this instant. */
	until?: Date;
	/** The `cursor` of the previous page. */
	cursor?: string;
	/** Events per page, 1 to 1 000. Default 50. */
	limit?: number;
}

/** One page of events, newest first. */
export interface EventPage {
	readonly events: AuthEvent[];
	/** Pass as `cursor` for the next (older) page; `null` on the last page. */
	readonly cursor: string | null;
}

/** The event log. */
export interface EventStore {
	/**
	 * Write events in one statement, in the transaction open in the current
	 * async context if there is one. Internal: `stores.applyTo` wires it.
	 */
	record(events: readonly AuthEventInput[]): Promise<void>;
	/** Events newest first, keyset-paginated on (`created_at`, `id`). Writes nothing. */
	list(options?: ListEventsOptions): Promise<EventPage>;
}

/** Options of {@link eventStore}. */
export interface EventStoreOptions {
	/** Postgres schema holding `authpg_event`. Default `public`. */
	schema?: string;
}

const hex8 = (n: number) => n.toString(16).padStart(8, "0");

/**
 * A UUIDv7 source (RFC 9562): 48 bits of Unix milliseconds, then a 74-bit
 * tail that is random on each new millisecond and incremented within one
 * (or when the clock steps back), so ids from one process strictly increase.
 * The tail is three plain numbers (12 + 30 + 32 bits) rather than a BigInt:
 * this runs for every event, on the sign-in path.
 */
export function uuidv7Source(now: () => number = Date.now): () => string {
	let lastMs = -1;
	let a = 0; // 12 bits: rand_a
	let b1 = 0; // 30 bits: rand_b's high part (after the 2 variant bits)
	let b2 = 0; // 32 bits: rand_b's low part
	const random = new Uint32Array(3);
	return () => {
		let ms = now();
		if (ms > lastMs) {
			crypto.getRandomValues(random);
			// The top bit stays clear so a millisecond has room for 2^73 increments.
			a = random[0]! & 0x7ff;
			b1 = random[1]! & 0x3fffffff;
			b2 = random[2]!;
			lastMs = ms;
		} else {
			ms = lastMs;
			if (++b2 > 0xffffffff) {
				b2 = 0;
				if (++b1 > 0x3fffffff) {
					b1 = 0;
					if (++a > 0xfff) {
						lastMs = ++ms;
						a = 0;
					}
				}
			}
		}
		const time = ms.toString(16).padStart(12, "0");
		const hi = hex8((0x80000000 | b1) >>> 0);
		return `${time.slice(0, 8)}-${time.slice(8)}-${(0x7000 | a).toString(16)}-${hi.slice(0, 4)}-${hi.slice(4)}${hex8(b2)}`;
	};
}

const CURSOR =
	/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

function encodeCursor(at: string, id: string): string {
	return btoa(`${at}|${id}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): [string, string] {
	let text = "";
	try {
		text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
	} catch {
		// Reported below, as any malformed cursor.
	}
	const match = CURSOR.exec(text);
	if (!match) throw new InvalidValueError("events.list: `cursor` is not a cursor this store returned.");
	return [match[1]!, match[2]!];
}

interface EventRow {
	id: string;
	created_at: Date;
	at: string;
	type: AuthEventType;
	outcome: "success" | "failure";
	user_id: string | null;
	session_id: string | null;
	actor_id: string | null;
	ip_address: string | null;
	user_agent: string | null;
	details: Record<string, unknown> | string;
}

/**
 * One id source for every store in the process, so events written through
 * any of them (a store's `record`, or a change's own statement) still order
 * as they happened.
 */
const nextId = uuidv7Source();

/** The nine columns a batch of events is sent as: parallel arrays, unnested by one statement. */
function eventColumns(events: readonly AuthEventInput[]): (string | null)[][] {
	const columns: (string | null)[][] = Array.from({ length: 9 }, () => []);
	for (const event of events) {
		const row = [
			nextId(),
			event.type,
			event.outcome,
			event.userId ?? null,
			event.sessionId ?? null,
			event.actorId ?? null,
			event.ipAddress || null,
			event.userAgent || null,
			JSON.stringify(event.details ?? {}),
		];
		for (const [i, value] of row.entries()) columns[i]!.push(value);
	}
	return columns;
}

/**
 * The insert of a batch of events, its parameters from `$first`. With `row`,
 * the events are read against the row a create is writing (the CTE
 * `"authpg_row"`, see `adapter/companion.ts`): `user_id` and `session_id` come
 * from the named fields of that row, whose id the database may be the one to
 * assign. The database's clock, read once, stamps the batch; the ids order it.
 */
function insertSql(table: string, first: number, row?: EventRowFields): string {
	const p = (i: number) => `$${first + i}::text[]`;
	const fromRow = (field: string | undefined, fallback: string) =>
		field ? `r.${sql.id(field).compile(compiler).sql}::text` : fallback;
	return `insert into ${table} ("id", "created_at", "type", "outcome", "user_id", "session_id", "actor_id", "ip_address", "user_agent", "details")
		select e.id::uuid, (select clock_timestamp()), e.type, e.outcome, ${fromRow(row?.userId, "e.user_id")}, ${fromRow(row?.sessionId, "e.session_id")}, e.actor_id, e.ip_address, e.user_agent, e.details::jsonb
		  from ${row ? `${COMPANION_ROW} r cross join ` : ""}unnest(${[0, 1, 2, 3, 4, 5, 6, 7, 8].map(p).join(", ")})
		       as e(id, type, outcome, user_id, session_id, actor_id, ip_address, user_agent, details)`;
}

/** Fields of a row being created that fill every event's `userId` and `sessionId` (see {@link eventCompanion}). */
export interface EventRowFields {
	userId?: string | undefined;
	sessionId?: string | undefined;
}

/**
 * Events as a companion of a create (`adapter/companion.ts`), for the event
 * log in `schema`: written by the create's own statement, so an event commits
 * if and only if its row does, in one round trip. Internal: `stores.applyTo`
 * wires it.
 */
export function eventCompanions(
	schema: string | undefined,
): (events: readonly AuthEventInput[], row: EventRowFields) => Companion {
	const table = sql.id(schema ?? "public", EVENT_TABLE).compile(compiler).sql;
	return (events, row) => ({
		key: `events\u0001${table}\u0001${row.userId ?? ""}\u0001${row.sessionId ?? ""}`,
		sql: (first) => insertSql(table, first, row),
		values: eventColumns(events),
	});
}

/** The event log in `authpg_event` (created by the migration planner). */
export function eventStore(driver: Driver, options: EventStoreOptions = {}): EventStore {
	const table = sql.id(options.schema ?? "public", EVENT_TABLE);
	// One statement for any number of events.
	const insert = insertSql(table.compile(compiler).sql, 1);
	const insertName = statementName(insert);

	return {
		async record(events) {
			if (events.length === 0) return;
			const columns = eventColumns(events);
			try {
				await driver.query(insert, columns, { name: insertName });
			} catch (error) {
				throw toQueryError("events record", EVENT_TABLE, error);
			}
		},

		async list(listOptions = {}) {
			const limit = Math.floor(listOptions.limit ?? 50);
			if (!(limit >= 1 && limit <= 1000)) throw new InvalidValueError("events.list: `limit` must be 1 to 1000.");
			const conditions: RawBuilder<unknown>[] = [];
			if (listOptions.userId !== undefined) conditions.push(sql`"user_id" = ${listOptions.userId}`);
			if (listOptions.type !== undefined) {
				const types = typeof listOptions.type === "string" ? [listOptions.type] : [...listOptions.type];
				conditions.push(types.length === 1 ? sql`"type" = ${types[0]}` : sql`"type" = any(${types}::text[])`);
			}
			if (listOptions.since) conditions.push(sql`"created_at" >= ${listOptions.since.toISOString()}::timestamptz`);
			if (listOptions.until) conditions.push(sql`"created_at" < ${listOptions.until.toISOString()}::timestamptz`);
			if (listOptions.cursor !== undefined) {
				const [at, id] = decodeCursor(listOptions.cursor);
				conditions.push(sql`("created_at", "id") < (${at}::timestamptz, ${id}::uuid)`);
			}
			const where = conditions.length ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
			// One row more than the page tells whether there is a next page.
			const query = sql`select "id"::text as "id", "created_at",
					to_char("created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "at",
					"type", "outcome", "user_id", "session_id", "actor_id", "ip_address", "user_agent", "details"
				from ${table} ${where}
				order by "created_at" desc, "id" desc
				limit ${limit + 1}`.compile(compiler);
			let rows: EventRow[];
			try {
				({ rows } = await driver.query<EventRow>(query.sql, query.parameters, { name: statementName(query.sql) }));
			} catch (error) {
				throw toQueryError("events list", EVENT_TABLE, error);
			}
			const page = rows.slice(0, limit);
			const last = page[page.length - 1];
			return {
				events: page.map((row) => ({
					id: row.id,
					createdAt: row.created_at,
					type: row.type,
					outcome: row.outcome,
					userId: row.user_id,
					sessionId: row.session_id,
					actorId: row.actor_id,
					ipAddress: row.ip_address,
					userAgent: row.user_agent,
					details: typeof row.details === "string" ? JSON.parse(row.details) : row.details,
				})),
				cursor: rows.length > limit && last ? encodeCursor(last.at, last.id) : null,
			};
		},
	};
}
