/**
 * Deleting what has expired: Better Auth's sessions and verifications, the
 * rate-limit and secondary-storage rows, and the key store's retired signing
 * keys once past a grace period. Each table is emptied in bounded batches —
 * one short autocommit statement per batch, skipping rows live traffic holds
 * locked — so no statement holds locks for long and a prune can run beside
 * production load.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import { sql } from "kysely";
import { compiler } from "../compiler.js";
import type { Driver } from "../driver/contract.js";
import { compileSchema, type SchemaOptions } from "../model.js";
import { eventRetentionIn } from "./event-wiring.js";
import {
	EVENT_PARTITIONS_AHEAD,
	EVENT_TABLE,
	eventPartitionStep,
	KEYSTORE_KEY_TABLE,
	KV_TABLE,
	monthStart,
	RATE_LIMIT_TABLE,
} from "./tables.js";

/** Options of {@link prune}. */
export interface PruneOptions extends SchemaOptions {
	/** Count what would go, delete nothing. */
	dryRun?: boolean;
	/** Rows per DELETE. Default 5 000. */
	batchSize?: number;
	/**
	 * How long a signing key stays after it expired (Better Auth keeps serving
	 * it in the JWKS so tokens it signed still verify). Default 30 days.
	 */
	keyGraceMs?: number;
	/**
	 * Delete auth events older than this many milliseconds. Default: the
	 * `events.retention` the stores were created with, found in the options
	 * `stores.applyTo` returned; without one, events are kept.
	 */
	eventRetentionMs?: number;
}

/** What {@link prune} did (or, dry, would do) to one table. */
export interface PruneCount {
	readonly table: string;
	/** Rows deleted (dry run: rows that would be). */
	readonly rows: number;
	readonly batches: number;
}

/** One table's expired rows: the key to delete by and the condition. */
export interface PruneTarget {
	readonly table: string;
	/** The primary key's columns, quoted and comma-separated. */
	readonly key: string;
	readonly expired: string;
	/**
	 * The table is the event log, range-partitioned by month on `created_at`: its namespace and the
	 * retention cutoff (SQL on `now()`), so a prune deletes from the partitions, drops whole months past
	 * the cutoff and creates the months ahead.
	 */
	readonly monthPartitions?: { readonly namespace: string; readonly cutoff: string };
}

const DAY = 86_400_000;

/** The tables {@link prune} looks at, with their expiry conditions (SQL on `now()`). */
export function pruneTargets(options: BetterAuthOptions, pruneOptions: PruneOptions = {}): PruneTarget[] {
	const schema = compileSchema(options, pruneOptions);
	const graceSeconds = Math.max(0, Math.floor((pruneOptions.keyGraceMs ?? 30 * DAY) / 1000));
	const ns = schema.namespace;
	const id = (...names: string[]) => sql.id(...names).compile(compiler).sql;
	const targets: PruneTarget[] = [];
	for (const key of ["session", "verification"]) {
		const model = schema.models.find((m) => m.key === key);
		const expiresAt = model?.fields.find((f) => f.key === "expiresAt");
		const pk = model?.fields.find((f) => f.key === "id");
		if (!model || !expiresAt || !pk) continue;
		targets.push({ table: id(ns, model.table), key: id(pk.column), expired: `${id(expiresAt.column)} < now()` });
	}
	targets.push(
		{ table: id(ns, RATE_LIMIT_TABLE), key: id("key"), expired: `"expires_at" < now()` },
		{ table: id(ns, KV_TABLE), key: id("key"), expired: `"expires_at" < now()` },
		{
			table: id(ns, KEYSTORE_KEY_TABLE),
			key: id("id"),
			expired: `"expires_at" < now() - interval '${graceSeconds} seconds'`,
		},
	);
	const retention = pruneOptions.eventRetentionMs ?? eventRetentionIn(options);
	if (retention !== undefined) {
		const cutoff = `now() - interval '${Math.max(0, Math.floor(retention / 1000))} seconds'`;
		targets.push({
			table: id(ns, EVENT_TABLE),
			// The whole primary key, so each batch finds its rows through the index, partition by partition.
			key: `${id("created_at")}, ${id("id")}`,
			expired: `"created_at" < ${cutoff}`,
			monthPartitions: { namespace: ns, cutoff },
		});
	}
	return targets;
}

/** One batch's DELETE: `$1` is the batch size. */
export function pruneBatchSql(target: PruneTarget): string {
	return `delete from ${target.table} where (${target.key}) in (select ${target.key} from ${target.table} where ${target.expired} limit $1 for update skip locked)`;
}

/**
 * Delete expired rows table by table in batches of `batchSize`, each its own
 * statement. Tables that do not exist (a store not in use) are left out of
 * the result. Rows locked by a running transaction are skipped, for the
 * next prune.
 */
export async function prune(
	driver: Driver,
	options: BetterAuthOptions,
	pruneOptions: PruneOptions = {},
): Promise<PruneCount[]> {
	const batch = Math.max(1, Math.floor(pruneOptions.batchSize ?? 5000));
	const result: PruneCount[] = [];
	const targets = pruneTargets(options, pruneOptions);
	let eventPartitions: EventPartitions | undefined;
	if (!pruneOptions.dryRun) {
		const namespace = compileSchema(options, pruneOptions).namespace;
		const cutoff = targets.find((t) => t.monthPartitions)?.monthPartitions?.cutoff;
		eventPartitions = await maintainEventPartitions(driver, namespace, cutoff, result);
	}
	for (const target of targets) {
		if (!(await tableExists(driver, target.table))) continue;
		if (pruneOptions.dryRun) {
			const { rows } = await driver.query<{ n: number }>(
				`select count(*)::int as "n" from ${target.table} where ${target.expired}`,
				[],
			);
			result.push({ table: target.table, rows: Number(rows[0]?.n ?? 0), batches: 0 });
			continue;
		}
		// The event log's batches go straight to the partitions that can hold expired rows: through the
		// parent, every batch would lock the live month's partition (and the parent) as well.
		const tables =
			eventPartitions?.parent === target.table
				? eventPartitions.expiring.map((table) => ({ ...target, table }))
				: [target];
		let rows = 0;
		let batches = 0;
		for (const physical of tables) {
			// A partition another prune dropped meanwhile.
			if (physical !== target && !(await tableExists(driver, physical.table))) continue;
			const statement = pruneBatchSql(physical);
			for (;;) {
				const { rowCount } = await driver.query(statement, [batch]);
				batches++;
				rows += rowCount;
				if (rowCount < batch) break;
			}
		}
		result.push({ table: target.table, rows, batches });
	}
	return result;
}

/**
 * The prune as one SQL command for a scheduler (`pg_cron`): a DO block that
 * deletes each table's expired rows in batches. It runs as one transaction
 * (pg_cron's), so its row locks last until it ends; they are locks on
 * expired rows only. The event log's batches go to its partitions, as
 * {@link prune}'s do; its catalog changes (dropping months past retention,
 * creating the months ahead) come last, each waiting at most
 * {@link CATALOG_LOCK_TIMEOUT} for its lock, because the lock on the event
 * table they take is held until the job commits. A month not dropped then
 * (its lock was busy) is dropped by the next run.
 */
export function pruneSql(targets: readonly PruneTarget[], batchSize = 5000): string {
	const batch = Math.max(1, Math.floor(batchSize));
	const literal = (text: string) => sql.lit(text).compile(compiler).sql;
	const deleteLoop = (statement: string) =>
		`loop execute ${statement}; get diagnostics n = row_count; exit when n < ${batch}; end loop;`;
	const loops: string[] = [];
	const catalog: string[] = [];
	for (const t of targets) {
		const exists = `to_regclass(${literal(t.table)}) is not null`;
		if (!t.monthPartitions) {
			loops.push(
				`  if ${exists} then ${deleteLoop(dollarQuoted(pruneBatchSql(t).replace("$1", String(batch))))} end if;`,
			);
			continue;
		}
		const { namespace, cutoff } = t.monthPartitions;
		// The batch statement with the partition's name (regclass text, quoted as needed) in place of the table.
		const [before, between, after] = pruneBatchSql({ ...t, table: "\u0000" })
			.replace("$1", String(batch))
			.split("\u0000");
		loops.push(
			`  if ${exists} then
    for p in select c.oid::regclass::text as t, ${partitionBound("FROM")} as lo, ${partitionBound("TO")} as hi
               from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = ${literal(t.table)}::regclass loop
      if p.hi <= ${cutoff} then expired := expired || p.t;
      elsif p.lo is null or p.lo < ${cutoff} then ${deleteLoop(`${dollarQuoted(before!)} || p.t || ${dollarQuoted(between!)} || p.t || ${dollarQuoted(after!)}`)}
      end if;
    end loop;
  end if;`,
		);
		catalog.push(
			`  if ${exists} then
    perform set_config('lock_timeout', ${literal(CATALOG_LOCK_TIMEOUT)}, true);
    foreach part in array expired loop
      begin execute 'drop table if exists ' || part; exception when lock_not_available then null; end;
    end loop;
    for i in 0..${EVENT_PARTITIONS_AHEAD - 1} loop
      starts := date_trunc('month', now() at time zone 'UTC') + make_interval(months => i);
      begin
        execute format('create table if not exists %I.%I partition of %s for values from (%L) to (%L)', ${literal(namespace)},
          ${literal(`${EVENT_TABLE}_p`)} || to_char(starts, 'YYYYMM'), ${literal(t.table)},
          to_char(starts, 'YYYY-MM-DD"T00:00:00Z"'), to_char(starts + interval '1 month', 'YYYY-MM-DD"T00:00:00Z"'));
      exception when lock_not_available or check_violation then null;
      end;
    end loop;
  end if;`,
		);
	}
	const declarations = catalog.length ? " p record; expired text[] := '{}'; part text; starts timestamp; i int;" : "";
	return `do ${dollarQuoted(` declare n bigint;${declarations} begin\n${[...loops, ...catalog].join("\n")}\nend `, "authpg")}`;
}

/**
 * `text` as a dollar-quoted SQL string whose tag (`$q$`, or `$authpg$`…) it does not contain: table
 * names come from the app's config and may hold any characters, a tag included.
 */
export function dollarQuoted(text: string, tag = "q"): string {
	let quote = `$${tag}$`;
	while (text.includes(quote)) quote = `${quote.slice(0, -1)}_$`;
	return `${quote}${text}${quote}`;
}

/** A partition's lower (`FROM`) or upper (`TO`) bound, from `pg_class c`; null for the default partition. */
const partitionBound = (edge: "FROM" | "TO") =>
	`(regexp_match(pg_get_expr(c.relpartbound, c.oid), '${edge} \\(''([^'']+)''\\)'))[1]::timestamptz`;

async function tableExists(driver: Driver, table: string): Promise<boolean> {
	const { rows } = await driver.query<{ t: string | null }>("select to_regclass($1)::text as t", [table]);
	return Boolean(rows[0]?.t);
}

/** The event log's parent table and the partitions a prune's batches delete from. */
interface EventPartitions {
	readonly parent: string;
	/** Partitions (quoted) that may hold expired rows: partly expired months, undropped expired ones, the default. */
	readonly expiring: readonly string[];
}

/**
 * Keep the event log's month partitions ahead of time (the current month and
 * the next ones), and drop whole month partitions past retention — one
 * catalog change instead of a delete per row. Rows left in partitions that
 * are only partly expired, and in the default one, go in batches after.
 * A partition that cannot be created (the default partition already holds
 * rows for that month) is left for `authpg doctor` to report.
 */
async function maintainEventPartitions(
	driver: Driver,
	namespace: string,
	cutoff: string | undefined,
	result: PruneCount[],
): Promise<EventPartitions | undefined> {
	const parent = sql.id(namespace, EVENT_TABLE).compile(compiler).sql;
	if (!(await tableExists(driver, parent))) return undefined;
	const now = new Date();
	for (let i = 0; i < EVENT_PARTITIONS_AHEAD; i++) {
		// On failure (the default partition holds rows of that month, or the lock was busy) doctor
		// reports it; events for that month keep landing in the default partition meanwhile.
		await catalogChange(driver, eventPartitionStep(namespace, monthStart(now, i)).sql);
	}
	if (cutoff === undefined) return undefined;
	// Which partitions lie wholly before the cutoff and which only begin before it, by the server's clock,
	// the one the batches' condition uses.
	const { rows } = await driver.query<{ name: string; expired: boolean; expiring: boolean }>(
		`select p.name as "name", coalesce(p.upper <= ${cutoff}, false) as "expired", coalesce(p.lower < ${cutoff}, true) as "expiring"
		   from (select c.relname as name, ${partitionBound("FROM")} as lower, ${partitionBound("TO")} as upper
		           from pg_inherits i join pg_class c on c.oid = i.inhrelid
		          where i.inhparent = $1::regclass) as p`,
		[parent],
	);
	let dropped = 0;
	const expiring: string[] = [];
	for (const row of rows) {
		const name = sql.id(namespace, row.name).compile(compiler).sql;
		if (row.expired) {
			// Counted outside the drop's transaction (holding the partition's lock while the DROP waits for
			// the parent's would deadlock with another prune dropping it), and only where the DROP (no IF
			// EXISTS) succeeds: a partition another prune dropped first counts there, once; a prune that
			// finds it gone carries on.
			const counted = await driver
				.query<{ n: string }>(`select count(*)::text as "n" from ${name}`, [])
				.catch(() => undefined);
			if (counted && (await catalogChange(driver, `drop table ${name}`))) {
				dropped += Number(counted.rows[0]?.n ?? 0);
				continue;
			}
			// Not dropped now (its lock was busy, or it is gone): the batches delete what rows it has.
		}
		if (row.expiring) expiring.push(name);
	}
	if (dropped > 0) result.push({ table: `${parent} (expired partitions)`, rows: dropped, batches: 0 });
	return { parent, expiring };
}

/**
 * Creating or dropping a partition locks the whole event table (ACCESS EXCLUSIVE on the parent),
 * and while it waits for that lock behind a long transaction every new event queues behind it: so
 * it waits at most this long, then gives up until the next prune.
 */
const CATALOG_LOCK_TIMEOUT = "500ms";

/** Run a partition create or drop under {@link CATALOG_LOCK_TIMEOUT}; false if it did not happen. */
async function catalogChange(driver: Driver, statement: string): Promise<boolean> {
	try {
		if (!driver.capabilities.transactions) await driver.query(statement, []);
		else
			await driver.transaction(async (tx) => {
				await tx.query(`set local lock_timeout = '${CATALOG_LOCK_TIMEOUT}'`, []);
				await tx.query(statement, []);
			});
		return true;
	} catch {
		return false;
	}
}
