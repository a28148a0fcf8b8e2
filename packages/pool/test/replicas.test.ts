import { type ReplicatedServer, startReplicatedServer } from "@authpg/conformance";
import { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores, fromPool, type Stores } from "../src/index.js";

const READ = { read: { model: "user", single: false } };
const WHERE = "select pg_is_in_recovery() as replica";

// One primary and replica for the file; each test leaves replay running.
let server: ReplicatedServer;
beforeAll(async () => {
	server = await startReplicatedServer();
});
afterAll(() => server?.stop());

describe("fromPool(pool, { replicas })", () => {
	it("routes marked reads to the application's replica pool, and close() leaves both pools open", async () => {
		const primary = new Pool({ connectionString: server.primary.adminUrl });
		const replica = new Pool({ connectionString: server.replica.adminUrl });
		// As an application must: pool.end() resolves before its clients' sockets close, and the server's
		// shutdown in afterAll can reach a closing client, whose error the pool re-emits (uncaught without a listener).
		for (const pool of [primary, replica]) pool.on("error", () => {});
		try {
			const stores = fromPool(primary, { replicas: [replica], replicaHealthInterval: 50 });
			const where = async (opts: object) => (await stores.driver.query<{ replica: boolean }>(WHERE, [], opts)).rows[0];
			// The first read starts the probes and goes to the primary; the replica serves once one reports.
			const deadline = Date.now() + 30_000;
			while (!(await where(READ))?.replica) {
				if (Date.now() > deadline) throw new Error("reads never reached the replica");
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
			expect((await where({}))?.replica).toBe(false);
			await stores.close();
			expect((await primary.query(WHERE)).rows[0]).toEqual({ replica: false });
			expect((await replica.query(WHERE)).rows[0]).toEqual({ replica: true });
		} finally {
			await Promise.all([primary.end(), replica.end()]);
		}
	});
});

describe("stores.readFromPrimary over a real replica", () => {
	it("sends every read inside its callback to the primary, and the same reads outside it to the replica", async () => {
		const options: Parameters<Stores["migrate"]>[0] = { emailAndPassword: { enabled: true } };
		// A bound far above the pause below, so the replica stays in rotation while it is behind.
		const stores = createStores({
			connectionString: server.primary.adminUrl,
			replicas: [server.replica.adminUrl],
			maxReplicaLag: 600_000,
			replicaHealthInterval: 50,
		});
		const replica = new Pool({ connectionString: server.replica.adminUrl });
		replica.on("error", () => {});
		try {
			await stores.migrate(options);
			await server.replica.caughtUp();
			const where = async () => (await stores.driver.query<{ replica: boolean }>(WHERE, [], READ)).rows[0]?.replica;
			const deadline = Date.now() + 30_000;
			while (!(await where())) {
				if (Date.now() > deadline) throw new Error("reads never reached the replica");
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
			expect(await stores.readFromPrimary(where)).toBe(false);
			expect(await where()).toBe(true);

			// Better Auth's own reads: with replay paused, a user written now is on the primary only, so a list
			// (which is never retried on the primary) tells where the adapter's statement ran.
			const adapter = stores.adapter(options);
			await replica.query("select pg_wal_replay_pause()");
			try {
				const now = new Date();
				await adapter.create({
					model: "user",
					data: { name: "Ada", email: "ada@example.com", emailVerified: false, createdAt: now, updatedAt: now },
				});
				const list = () => adapter.findMany<{ email: string }>({ model: "user" });
				const count = () => adapter.count({ model: "user" });
				expect(await list()).toEqual([]);
				expect(await count()).toBe(0);
				const inside = await stores.readFromPrimary(async () => ({ list: await list(), count: await count() }));
				expect(inside.list.map((user) => user.email)).toEqual(["ada@example.com"]);
				expect(inside.count).toBe(1);
				expect(await count()).toBe(0);
			} finally {
				await replica.query("select pg_wal_replay_resume()");
			}
		} finally {
			await stores.close();
			await replica.end();
		}
	});
});
