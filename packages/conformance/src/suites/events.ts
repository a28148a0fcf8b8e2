import { type AuthEvent, type Driver, prune, pruneSql, pruneTargets, type Stores } from "@authpg/core";
import { storesFor } from "@authpg/core/driver";
import { beforeAll, describe, expect, it } from "vitest";
import { countingDriver } from "./counting-driver.js";
import { authOn, brief, call, eventsOf, IP, NEW_PASSWORD, NS, PASSWORD, UA, unique } from "./events-fixture.js";

/**
 * The event log through real Better Auth flows on `auth.handler`: the exact
 * sequence and fields, atomic with the change, and no secret in any event.
 */
export function eventsSuite(driver: () => Driver) {
	describe("event log", () => {
		let stores: Stores;
		let auth: ReturnType<typeof authOn>;
		const secrets: string[] = [PASSWORD, NEW_PASSWORD];

		beforeAll(async () => {
			stores = storesFor(driver(), { schema: NS, events: true }, async () => {});
			auth = authOn(stores);
			await driver().query(`drop schema if exists ${NS} cascade`, []);
			await stores.migrate({ emailAndPassword: { enabled: true } });
		});

		it("creates a table partitioned by month, with the current and upcoming months and a default partition", async () => {
			const { rows } = await driver().query<{ name: string }>(
				`select c.relname as "name" from pg_inherits i join pg_class c on c.oid = i.inhrelid
				   join pg_class p on p.oid = i.inhparent join pg_namespace n on n.oid = p.relnamespace
				  where n.nspname = $1 and p.relname = 'authpg_event' order by 1`,
				[NS],
			);
			const month = (offset: number) => {
				const d = new Date();
				const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1));
				return `authpg_event_p${m.getUTCFullYear()}${String(m.getUTCMonth() + 1).padStart(2, "0")}`;
			};
			expect(rows.map((r) => r.name)).toEqual([month(0), month(1), month(2), "authpg_event_default"].sort());
			const plan = await stores.migrate({ emailAndPassword: { enabled: true } });
			expect(plan.steps).toEqual([]);
		});

		it("sign-up, failed sign-ins, sign-in, revoke others, password change, sign-out: the exact events", async () => {
			const email = unique("flow");
			const signUp = await call(auth, "/sign-up/email", { email, password: PASSWORD, name: "Flow" });
			expect(signUp.status).toBe(200);
			const userId = signUp.json.user.id as string;
			secrets.push(signUp.json.token, ...signUp.cookie.split("; ").map((c) => c.split("=")[1]!));

			expect((await call(auth, "/sign-in/email", { email, password: "not the password" })).status).toBe(401);
			const unknown = unique("nobody");
			expect((await call(auth, "/sign-in/email", { email: unknown, password: "whatever it is" })).status).toBe(401);
			secrets.push("not the password", "whatever it is");

			const signIn = await call(auth, "/sign-in/email", { email, password: PASSWORD });
			expect(signIn.status).toBe(200);
			secrets.push(signIn.json.token, ...signIn.cookie.split("; ").map((c) => c.split("=")[1]!));

			// Reads write nothing.
			const before = (await stores.events.list({ limit: 1000 })).events.length;
			expect((await call(auth, "/get-session", undefined, signIn.cookie)).status).toBe(200);
			expect((await stores.events.list({ limit: 1000 })).events.length).toBe(before);

			expect((await call(auth, "/revoke-other-sessions", {}, signIn.cookie)).status).toBe(200);
			expect(
				(await call(auth, "/change-password", { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, signIn.cookie))
					.status,
			).toBe(200);
			expect((await call(auth, "/sign-out", {}, signIn.cookie)).status).toBe(200);

			const sessions = await driver().query<{ id: string; token: string }>(
				`select id, token from ${NS}.session where "userId" = $1`,
				[userId],
			);
			expect(sessions.rows).toEqual([]);

			const events = await eventsOf(stores, userId);
			expect(events.map(brief)).toEqual([
				["user.created", "success", {}],
				["session.created", "success", { method: "email" }],
				["sign_in.failed", "failure", { method: "email", reason: "wrong_password" }],
				["sign_in.succeeded", "success", { method: "email" }],
				["session.created", "success", { method: "email" }],
				["session.revoked", "success", { scope: "others" }],
				["password.changed", "success", {}],
				["sign_out", "success", {}],
			]);
			for (const e of events) {
				expect(e.userId).toBe(userId);
				expect(e.ipAddress).toBe(IP);
				expect(e.userAgent).toBe(UA);
				expect(e.actorId).toBeNull();
				expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
			}
			const [, firstSession, , , secondSession, revoked, , signedOut] = events;
			expect(firstSession!.sessionId).toBeTruthy();
			expect(secondSession!.sessionId).toBeTruthy();
			expect(revoked!.sessionId).toBe(firstSession!.sessionId);
			expect(signedOut!.sessionId).toBe(secondSession!.sessionId);
			// Newest first, strictly: ids and times never go backwards.
			for (let i = 1; i < events.length; i++) {
				expect(events[i]!.createdAt.getTime()).toBeGreaterThanOrEqual(events[i - 1]!.createdAt.getTime());
				expect(events[i]!.id > events[i - 1]!.id).toBe(true);
			}

			const failures = await stores.events.list({ type: "sign_in.failed", limit: 1000 });
			const unknownUser = failures.events.filter((e) => e.details.reason === "unknown_user");
			expect(unknownUser).toHaveLength(1);
			expect(unknownUser[0]).toMatchObject({ userId: null, outcome: "failure", ipAddress: IP, userAgent: UA });
		});

		it("a sign-in sends no more statements with events than without: the events ride on the session's insert", async () => {
			const counting = countingDriver(driver());
			const on = storesFor(counting, { schema: NS, events: true }, async () => {});
			const off = storesFor(counting, { schema: NS }, async () => {});
			const email = unique("counted");
			await authOn(off).api.signUpEmail({ body: { email, password: PASSWORD, name: "Counted" } });
			const statementsOf = async (stores: Stores) => {
				counting.reset();
				const signedIn = await authOn(stores).api.signInEmail({ body: { email, password: PASSWORD } });
				secrets.push(signedIn.token);
				return [...counting.statements];
			};
			const without = await statementsOf(off);
			const withEvents = await statementsOf(on);
			expect(withEvents.length).toBe(without.length);
			expect(withEvents.some((s) => /^(begin|commit)/i.test(s.trim()))).toBe(false);
			const userId = (await driver().query<{ id: string }>(`select id from ${NS}."user" where email = $1`, [email]))
				.rows[0]!.id;
			const events = await eventsOf(stores, userId);
			expect(events.map((e) => e.type)).toEqual(["sign_in.succeeded", "session.created"]);
			const { rows } = await driver().query<{ id: string }>(
				`select id from ${NS}.session where "userId" = $1 order by "createdAt" desc limit 1`,
				[userId],
			);
			expect(events.every((e) => e.sessionId === String(rows[0]!.id) && e.userId === userId)).toBe(true);
		});

		it("a refused request is one rate_limited event", async () => {
			const before = await stores.events.list({ type: "rate_limited", limit: 1000 });
			expect((await call(auth, "/ok")).status).toBe(200);
			expect((await call(auth, "/ok")).status).toBe(429);
			const after = await stores.events.list({ type: "rate_limited", limit: 1000 });
			expect(after.events.length).toBe(before.events.length + 1);
			expect(after.events[0]).toMatchObject({
				type: "rate_limited",
				outcome: "failure",
				ipAddress: IP,
				details: { path: "/ok", retryAfter: 60 },
			});
		});

		it("a sign-up rolled back with its transaction leaves no event", async () => {
			if (!driver().capabilities.transactions) return;
			const all = async () => (await stores.events.list({ limit: 1000 })).events.length;
			const before = await all();
			const email = unique("rolled-back");
			await expect(
				stores.transaction(async () => {
					await auth.api.signUpEmail({ body: { email, password: PASSWORD, name: "Gone" } });
					expect(await all()).toBe(before + 2);
					throw new Error("roll it back");
				}),
			).rejects.toThrow("roll it back");
			expect(await all()).toBe(before);
			const users = await driver().query(`select 1 from ${NS}."user" where email = $1`, [email]);
			expect(users.rows).toEqual([]);
		});

		it("an event that cannot be written takes its change with it: one statement or one transaction", async () => {
			if (!driver().capabilities.transactions) return;
			const email = unique("failing");
			const signUp = await call(auth, "/sign-up/email", { email, password: PASSWORD, name: "Failing" });
			const userId = signUp.json.user.id as string;
			secrets.push(signUp.json.token);
			const sessions = async () =>
				Number(
					(await driver().query<{ n: string }>(`select count(*) as n from ${NS}.session where "userId" = $1`, [userId]))
						.rows[0]?.n,
				);
			const before = await sessions();
			// Refuse the sign-in's events: the session written before them must not stay.
			await driver().query(
				`create function ${NS}.refuse() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`,
				[],
			);
			await driver().query(
				`create trigger refuse before insert on ${NS}.authpg_event for each row when (new.type = 'session.created') execute function ${NS}.refuse()`,
				[],
			);
			try {
				const signIn = await call(auth, "/sign-in/email", { email, password: PASSWORD });
				expect(signIn.status).toBeGreaterThanOrEqual(500);
			} finally {
				await driver().query(`drop trigger refuse on ${NS}.authpg_event`, []);
				await driver().query(`drop function ${NS}.refuse()`, []);
			}
			expect(await sessions()).toBe(before);
			const events = await eventsOf(stores, userId);
			expect(events.map((e) => e.type)).toEqual(["user.created", "session.created"]);
		});

		it("list: filters, keyset pages newest first, a bad cursor is refused", async () => {
			const all = (await stores.events.list({ limit: 1000 })).events;
			expect(all.length).toBeGreaterThan(4);
			const paged: AuthEvent[] = [];
			let cursor: string | undefined;
			do {
				const page = await stores.events.list({ limit: 3, ...(cursor ? { cursor } : {}) });
				paged.push(...page.events);
				cursor = page.cursor ?? undefined;
			} while (cursor);
			expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
			const middle = all[Math.floor(all.length / 2)]!;
			const since = await stores.events.list({ since: middle.createdAt, limit: 1000 });
			expect(since.events.every((e) => e.createdAt.getTime() >= middle.createdAt.getTime())).toBe(true);
			const until = await stores.events.list({ until: middle.createdAt, limit: 1000 });
			expect(until.events.every((e) => e.createdAt.getTime() < middle.createdAt.getTime())).toBe(true);
			const types = await stores.events.list({ type: ["sign_out", "user.created"], limit: 1000 });
			expect(new Set(types.events.map((e) => e.type))).toEqual(new Set(["sign_out", "user.created"]));
			await expect(stores.events.list({ cursor: "not-a-cursor" })).rejects.toThrow(/cursor/);
			await expect(stores.events.list({ limit: 0 })).rejects.toThrow(/limit/);
		});

		it("GET /events/list: the signed-in user's own events, paged, filtered; 401 without a session", async () => {
			const a = await call(auth, "/sign-up/email", { email: unique("own-a"), password: PASSWORD, name: "A" });
			const b = await call(auth, "/sign-up/email", { email: unique("own-b"), password: PASSWORD, name: "B" });
			secrets.push(a.json.token, b.json.token);
			const mine = await call(auth, "/events/list", undefined, a.cookie);
			expect(mine.status).toBe(200);
			const page = mine.json as never as {
				events: { type: string; userId: string; createdAt: string }[];
				cursor: null;
			};
			expect(page.events.map((e) => e.type)).toEqual(["session.created", "user.created"]);
			expect(page.events.every((e) => e.userId === a.json.user.id)).toBe(true);
			expect(Number.isNaN(Date.parse(page.events[0]!.createdAt))).toBe(false);
			expect(page.cursor).toBeNull();
			// Someone else's id in the query changes nothing: only the admin listing takes `userId`.
			const first = await call(auth, `/events/list?limit=1&userId=${b.json.user.id}`, undefined, a.cookie);
			const one = first.json as never as { events: { type: string; userId: string }[]; cursor: string };
			expect(one.events.map((e) => [e.type, e.userId])).toEqual([["session.created", a.json.user.id]]);
			const next = await call(auth, `/events/list?limit=1&cursor=${one.cursor}`, undefined, a.cookie);
			expect((next.json as never as { events: { type: string }[] }).events.map((e) => e.type)).toEqual([
				"user.created",
			]);
			const typed = await call(auth, "/events/list?type=user.created,sign_out", undefined, a.cookie);
			expect((typed.json as never as { events: { type: string }[] }).events.map((e) => e.type)).toEqual([
				"user.created",
			]);
			expect((await call(auth, "/events/list?limit=0", undefined, a.cookie)).status).toBe(400);
			expect((await call(auth, "/events/list?cursor=nope", undefined, a.cookie)).status).toBe(400);
			expect((await call(auth, "/events/list")).status).toBe(401);
			// On the server too, as auth.api.listEvents; reading writes nothing.
			const before = (await stores.events.list({ limit: 1000 })).events.length;
			// applyTo adds the endpoints at run time; Better Auth's inferred `api` type does not see them.
			const api = await (
				auth.api as unknown as { listEvents(input: { headers: Headers }): Promise<{ events: unknown[] }> }
			).listEvents({ headers: new Headers({ cookie: a.cookie }) });
			expect(api.events).toHaveLength(2);
			expect((await stores.events.list({ limit: 1000 })).events.length).toBe(before);
		});

		it("no event carries a password, token or cookie used", async () => {
			const { rows } = await driver().query<{ row: string }>(`select e::text as "row" from ${NS}.authpg_event e`, []);
			expect(rows.length).toBeGreaterThan(0);
			const used = secrets.filter((s) => s && s.length >= 8);
			expect(used.length).toBeGreaterThan(4);
			for (const { row } of rows) for (const secret of used) expect(row).not.toContain(secret);
		});

		const DAY = 86_400_000;
		const monthOf = (at: Date, offset = 0) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
		const partition = (month: Date) =>
			`authpg_event_p${month.getUTCFullYear()}${String(month.getUTCMonth() + 1).padStart(2, "0")}`;
		/**
		 * An expired month partition (100 days ago) with 3 events, 5 events 40 days old in the default
		 * partition, and the month two ahead missing: what a 30-day retention's prune must mend.
		 */
		const expiredEvents = async () => {
			const pruning = storesFor(driver(), { schema: NS, events: { retention: 30 * DAY } }, async () => {});
			const oldMonth = monthOf(new Date(Date.now() - 100 * DAY));
			const old = partition(oldMonth);
			await driver().query(
				`create table ${NS}.${old} partition of ${NS}.authpg_event for values from ('${oldMonth.toISOString()}') to ('${monthOf(oldMonth, 1).toISOString()}')`,
				[],
			);
			const ahead = partition(monthOf(new Date(), 2));
			await driver().query(`drop table ${NS}.${ahead}`, []);
			const seed = (daysAgo: number, n: number) =>
				driver().query(
					`insert into ${NS}.authpg_event (id, created_at, type, outcome)
					 select gen_random_uuid(), now() - $1::int * interval '1 day', 'sign_out', 'success' from generate_series(1, $2::int)`,
					[daysAgo, n],
				);
			await seed(100, 3);
			await seed(40, 5);
			const live = async () => (await pruning.events.list({ limit: 1000 })).events.length;
			const before = await live();
			const partitions = async () =>
				(
					await driver().query<{ name: string }>(
						`select c.relname as "name" from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname in ($2, $3)`,
						[NS, old, ahead],
					)
				).rows.map((r) => r.name);
			expect(await partitions()).toEqual([old]);
			// As `authpg prune` runs it: from the options applyTo returned, which carry the retention.
			const applied = pruning.applyTo({ emailAndPassword: { enabled: true } });
			return {
				applied,
				/** After the prune: the expired month dropped, the month ahead back, 8 events fewer. */
				expectPruned: async () => {
					expect(await live()).toBe(before - 8);
					expect(await partitions()).toEqual([ahead]);
				},
			};
		};

		it("prune: drops month partitions past retention, deletes older events in batches, keeps partitions ahead", async () => {
			const { applied, expectPruned } = await expiredEvents();
			const counts = await prune(driver(), applied, { schema: NS, batchSize: 2 });
			expect(counts.find((c) => c.table.endsWith('"authpg_event" (expired partitions)'))?.rows).toBe(3);
			// Five rows in batches of two: three statements on the default partition that holds them, and one
			// (deleting nothing) on the current month's partition when it is partly past retention (its 31st day).
			const currentPartlyExpired = monthOf(new Date()).getTime() < Date.now() - 30 * DAY;
			expect(counts.find((c) => c.table === `"${NS}"."authpg_event"`)).toEqual({
				table: `"${NS}"."authpg_event"`,
				rows: 5,
				batches: currentPartlyExpired ? 4 : 3,
			});
			await expectPruned();
		});

		it("two prunes at once both finish, and between them remove each expired event once", async () => {
			const { applied, expectPruned } = await expiredEvents();
			const both = await Promise.all([
				prune(driver(), applied, { schema: NS, batchSize: 2 }),
				prune(driver(), applied, { schema: NS, batchSize: 2 }),
			]);
			const removed = both
				.flat()
				.filter((c) => c.table.startsWith(`"${NS}"."authpg_event"`))
				.reduce((sum, c) => sum + c.rows, 0);
			expect(removed).toBe(8);
			await expectPruned();
		});

		it("the scheduled prune (pruneSql, one statement as pg_cron runs it) does the same", async () => {
			const { applied, expectPruned } = await expiredEvents();
			await driver().query(pruneSql(pruneTargets(applied, { schema: NS }), 2), []);
			await expectPruned();
		});
	});
}
