import { type Driver, pgPoolDriver, type ReplicatedDriver, replicatedDriver, storesFor } from "@authpg/core/driver";
import type { BetterAuthOptions } from "@better-auth/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ReplicatedServer, startReplicatedServer } from "../src/harness/replica.js";

const READ = { read: { model: "user", single: false } } as const;
const WHERE_AM_I = "select pg_is_in_recovery() as replica";
const options: BetterAuthOptions = { emailAndPassword: { enabled: true } };

function poolOf(url: string): pg.Pool {
	const pool = new pg.Pool({ connectionString: url, max: 8 });
	// Idle clients of a killed replica report their loss here; unheard, it would crash the run.
	pool.on("error", () => {});
	return pool;
}

async function onReplica(driver: Driver, opts: object = READ): Promise<boolean> {
	const { rows } = await driver.query<{ replica: boolean }>(WHERE_AM_I, [], opts);
	return rows[0]?.replica === true;
}

/** Probe until `test` holds for the first replica (a condition, not a sleep: lag grows with time). */
async function healthUntil(driver: ReplicatedDriver, test: (healthy: boolean) => boolean, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const [first] = await driver.checkHealth();
		if (first && test(first.healthy)) return first;
		if (Date.now() > deadline) throw new Error(`replica health never changed: ${JSON.stringify(first)}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

describe("replicatedDriver over a real streaming replica", () => {
	let server: ReplicatedServer;
	let primaryPool: pg.Pool;
	let replicaPool: pg.Pool;
	const drivers: ReplicatedDriver[] = [];

	/** A routing driver over the shared pools (which the test ends itself). */
	function routing(extra: Partial<Parameters<typeof replicatedDriver>[0]> = {}): ReplicatedDriver {
		const driver = replicatedDriver({
			primary: pgPoolDriver(primaryPool, { name: "pool" }),
			replicas: [pgPoolDriver(replicaPool, { name: "pool" })],
			healthInterval: 100,
			...extra,
		});
		drivers.push(driver);
		return driver;
	}

	beforeAll(async () => {
		server = await startReplicatedServer();
		primaryPool = poolOf(server.primary.adminUrl);
		replicaPool = poolOf(server.replica.adminUrl);
		const setup = storesFor(routing(), {}, async () => {});
		await setup.migrate(options);
		await server.replica.caughtUp();
	});
	afterAll(async () => {
		await Promise.all(drivers.map((driver) => driver.close()));
		await primaryPool?.end();
		await replicaPool?.end().catch(() => {});
		await server?.stop();
	});

	it("sends marked reads to the replica and everything else to the primary", async () => {
		const driver = routing();
		// Before the first probe reports nothing is known of the replica's lag: reads stay on the primary.
		expect(driver.health()[0]?.healthy).toBe(false);
		await healthUntil(driver, (healthy) => healthy);
		expect(await onReplica(driver)).toBe(true);
		expect(await onReplica(driver, {})).toBe(false);
		expect(await driver.transaction((tx) => onReplica(tx))).toBe(false);

		const sessionsOnPrimary = routing({ models: { session: "primary" } });
		await healthUntil(sessionsOnPrimary, (healthy) => healthy);
		expect(await onReplica(sessionsOnPrimary, { read: { model: "session", single: true } })).toBe(false);
		expect(await onReplica(sessionsOnPrimary, { read: { model: "user", single: true } })).toBe(true);
	});

	it("finds a row written on the primary at once, even while the replica has not replayed it", async () => {
		const driver = routing({ maxReplicaLag: 600_000 });
		await healthUntil(driver, (healthy) => healthy);
		const adapter = storesFor(driver, {}, async () => {}).adapter(options);
		await replicaPool.query("select pg_wal_replay_pause()");
		try {
			const now = new Date();
			const user = await adapter.create<Record<string, unknown>, { id: string; email: string }>({
				model: "user",
				data: { name: "Ada", email: "ada@example.com", emailVerified: false, createdAt: now, updatedAt: now },
			});
			const session = await adapter.create<Record<string, unknown>, { id: string; token: string }>({
				model: "session",
				data: {
					userId: user.id,
					token: "tok-ada",
					expiresAt: new Date(Date.now() + 60_000),
					createdAt: now,
					updatedAt: now,
				},
			});
			// Served by the replica, which has not replayed the writes: the bounded staleness of a list.
			expect(await adapter.findMany({ model: "user", where: [{ field: "email", value: user.email }] })).toEqual([]);
			expect(await adapter.count({ model: "session", where: [{ field: "userId", value: user.id }] })).toBe(0);
			// A single-row read that misses on the replica is asked of the primary: read-your-writes.
			const found = await adapter.findOne<{ id: string; user: { email: string } }>({
				model: "session",
				where: [{ field: "token", value: session.token }],
				join: { user: true },
			});
			expect(found?.id).toBe(session.id);
			expect(found?.user.email).toBe("ada@example.com");
		} finally {
			await replicaPool.query("select pg_wal_replay_resume()");
		}
		await server.replica.caughtUp();
		expect(await adapter.count({ model: "user" })).toBe(1);
	});

	it("moves reads to the primary while replay is paused beyond the bound, and back once it catches up", async () => {
		const driver = routing({ maxReplicaLag: 300 });
		await healthUntil(driver, (healthy) => healthy);
		expect(await onReplica(driver)).toBe(true);
		await replicaPool.query("select pg_wal_replay_pause()");
		try {
			await primaryPool.query("create table lag_marker as select 1 as x");
			const lagging = await healthUntil(driver, (healthy) => !healthy);
			expect(lagging.reason).toMatch(/replay lag \d+ ms is over 300 ms/);
			expect(await onReplica(driver)).toBe(false);
		} finally {
			await replicaPool.query("select pg_wal_replay_resume()");
		}
		await healthUntil(driver, (healthy) => healthy);
		expect(await onReplica(driver)).toBe(true);
	});

	it("fails no request when the replica is killed under load", async () => {
		const driver = routing({ maxReplicaLag: 600_000 });
		await healthUntil(driver, (healthy) => healthy);
		const adapter = storesFor(driver, {}, async () => {}).adapter(options);
		let replicaReads = 0;
		let stop = false;
		const worker = async () => {
			let done = 0;
			while (!stop) {
				const [user] = await adapter.findMany<{ id: string }>({ model: "user", limit: 1 });
				const session = await adapter.findOne({ model: "session", where: [{ field: "token", value: "tok-ada" }] });
				expect(user).toBeDefined();
				expect(session).not.toBeNull();
				if (await onReplica(driver)) replicaReads++;
				done++;
			}
			return done;
		};
		const workers = Array.from({ length: 8 }, worker);
		// Kill it once reads are demonstrably landing there, then keep the load on for a while after.
		const deadline = Date.now() + 30_000;
		while (replicaReads < 20 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
		expect(replicaReads).toBeGreaterThanOrEqual(20);
		await server.replica.kill();
		const readsAtKill = replicaReads;
		const unhealthy = await healthUntil(driver, (healthy) => !healthy);
		expect(unhealthy.reason).toMatch(/connection lost|probe failed/);
		stop = true;
		const counts = await Promise.all(workers);
		expect(counts.every((n) => n > 0)).toBe(true);
		// At most the reads already answered when the replica died, one per worker, count after it.
		expect(replicaReads).toBeLessThanOrEqual(readsAtKill + workers.length);
		expect(await onReplica(driver)).toBe(false);
	});
});
