/**
 * Prune at scale: a million expired events go (old months dropped whole, the
 * rest deleted in batches) while sign-ins keep writing to the live partition,
 * and no statement of the prune holds a lock on the live partition, or on the
 * event table it is reached through, for a second.
 */
import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import { eventPartitionName, monthStart } from "@authpg/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores } from "../src/index.js";

const SCHEMA = "prune_scale";
const OPTIONS = { emailAndPassword: { enabled: true } };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const APPLICATION_NAME = `authpg_prune_scale_${process.pid}`;

let database: TestDatabase;
let admin: pg.Client;
beforeAll(async () => {
	database = await startTestDatabase({ prefix: "pool_events_prune" });
	admin = new pg.Client(database.url);
	await admin.connect();
});
afterAll(async () => {
	await admin?.end();
	await database?.close();
});

const table = (name: string) => `"${SCHEMA}"."${name}"`;

/** `n` events spread evenly over [from, to), into the partition that holds them. */
const seed = (n: number, from: Date, to: Date) =>
	admin.query(
		`insert into ${table("authpg_event")} (id, created_at, type, user_id, outcome, details)
		 select gen_random_uuid(), $1::timestamptz + (i::float8 / $3) * ($2::timestamptz - $1::timestamptz), 'sign_in',
		        'user-' || (i % 5000), 'success', '{"method":"email"}'::jsonb
		   from generate_series(0, $3::int - 1) as i`,
		[from, to, n],
	);

const count = async (sql: string) => Number((await admin.query(sql)).rows[0].n);

describe("event log: prune at scale", () => {
	it("prunes a million expired events; live writes never wait, no prune statement holds the live partition for 1 s", {
		timeout: 600_000,
	}, async () => {
		const now = new Date();
		const thisMonth = monthStart(now, 0);
		const lastMonth = monthStart(now, -1);
		// Retention ends in the middle of last month: the months before it are dropped whole, last month's
		// older half goes in batches. No event lies within a day of the cutoff, so the seconds between
		// this line and the prune cannot move one across it.
		const cutoff = new Date((lastMonth.getTime() + thisMonth.getTime()) / 2);
		const stores = createStores({
			connectionString: database.url,
			schema: SCHEMA,
			events: { retention: now.getTime() - cutoff.getTime() },
			pool: { max: 2, application_name: APPLICATION_NAME },
		});
		try {
			await stores.migrate(OPTIONS);
			// Partitions the planner made while those months were current (it keeps three ahead).
			for (const offset of [-4, -3, -2, -1]) {
				const month = monthStart(now, offset);
				await admin.query(
					`create table ${table(eventPartitionName(month))} partition of ${table("authpg_event")} for values from ('${month.toISOString()}') to ('${monthStart(now, offset + 1).toISOString()}')`,
				);
			}
			const seeded = performance.now();
			for (const offset of [-4, -3, -2]) await seed(250_000, monthStart(now, offset), monthStart(now, offset + 1));
			await seed(200_000, new Date(lastMonth.getTime() + HOUR), new Date(cutoff.getTime() - DAY));
			await seed(200_000, new Date(cutoff.getTime() + DAY), new Date(thisMonth.getTime() - HOUR));
			// Older than any partition (a month the planner never saw): in the default partition.
			await seed(50_000, monthStart(now, -8), monthStart(now, -7));
			await admin.query(`analyze ${table("authpg_event")}`);
			const seedSeconds = (performance.now() - seeded) / 1000;
			expect(await count(`select count(*) as n from ${table("authpg_event")}`)).toBe(1_200_000);

			const live = eventPartitionName(thisMonth);
			const watched = [table(live), table("authpg_event")];
			let pruning = true;

			// Live traffic: sign-in events into this month's partition, each allowed to wait 1 s for a lock.
			const writer = new pg.Client(database.url);
			await writer.connect();
			await writer.query("set lock_timeout = '1s'");
			const writes = (async () => {
				let n = 0;
				let slowest = 0;
				while (pruning) {
					const started = performance.now();
					await writer.query(
						`insert into ${table("authpg_event")} (id, type, outcome) values (gen_random_uuid(), 'sign_in', 'success')`,
					);
					slowest = Math.max(slowest, performance.now() - started);
					n++;
				}
				return { n, slowest };
			})();

			// Every 20 ms: how long the prune's statement (or transaction) holding a lock on the live
			// partition or the event table has been running; whether it locks the live partition at all; and
			// whether its batches are seen at work on last month's partition (so the watch does see the prune).
			// pg_locks and pg_stat_activity are not read at one instant: a backend still seen idle there
			// while its next statement's lock is already seen here is left out, not timed from its last query.
			const monitor = new pg.Client(database.url);
			await monitor.connect();
			const watching = (async () => {
				let samples = 0;
				let onLive = 0;
				let longest = 0;
				while (pruning) {
					const { rows } = await monitor.query<{ held: number | null; batching: boolean; live: boolean }>(
						`select max(extract(epoch from clock_timestamp() - a.xact_start))
						          filter (where l.relation = any($2::regclass[]))::float8 as held,
						        coalesce(bool_or(l.relation = $3::regclass), false) as batching,
						        coalesce(bool_or(l.relation = $4::regclass), false) as live
						   from pg_locks l join pg_stat_activity a on a.pid = l.pid
						  where a.application_name = $1 and l.granted and a.state <> 'idle'`,
						[APPLICATION_NAME, watched, table(eventPartitionName(lastMonth)), table(live)],
					);
					if (rows[0]?.batching) samples++;
					if (rows[0]?.live) onLive++;
					longest = Math.max(longest, rows[0]?.held ?? 0);
					await new Promise((resolve) => setTimeout(resolve, 20));
				}
				return { samples, onLive, longest };
			})();

			const started = performance.now();
			let counts: Awaited<ReturnType<typeof stores.prune>>;
			try {
				// As `authpg prune` runs it: with the options applyTo returned, which carry the retention.
				counts = await stores.prune(stores.applyTo(OPTIONS));
			} finally {
				pruning = false;
			}
			const pruneSeconds = (performance.now() - started) / 1000;
			const [written, watch] = await Promise.all([writes, watching]);
			await writer.end();
			await monitor.end();

			const dropped = counts.find((c) => c.table === `${table("authpg_event")} (expired partitions)`);
			const deleted = counts.find((c) => c.table === table("authpg_event"));
			expect(dropped?.rows).toBe(750_000);
			expect(deleted?.rows).toBe(250_000);
			expect(await count(`select count(*) as n from ${table("authpg_event")}`)).toBe(200_000 + written.n);
			expect(
				await count(`select count(*) as n from ${table("authpg_event")} where created_at < '${cutoff.toISOString()}'`),
			).toBe(0);
			// The prune's batches were seen at work on last month's partition; nothing of the prune locked the
			// live partition, and the event table itself (its partition drops) never for as long as a second.
			expect(watch.samples).toBeGreaterThan(0);
			expect(watch.onLive).toBe(0);
			expect(watch.longest).toBeLessThan(1);
			// Live writes went on throughout (none hit its 1 s lock timeout, which would have thrown).
			expect(written.n).toBeGreaterThan(0);
			console.info(
				`prune of 1 000 000 expired events (750 000 in 3 dropped partitions, 250 000 in ${deleted?.batches} batches): ${pruneSeconds.toFixed(1)} s (seeding ${seedSeconds.toFixed(1)} s); ` +
					`${written.n} live inserts meanwhile, slowest ${written.slowest.toFixed(0)} ms; longest lock on the live partition or event table seen: ${(watch.longest * 1000).toFixed(0)} ms; batches seen in ${watch.samples} samples`,
			);
		} finally {
			await stores.close();
		}
	});
});
