import { type ReplicatedServer, startReplicatedServer } from "@authpg/conformance";
import { configureNeon, type NeonLocal, startNeonLocal } from "@authpg/conformance/neon";
import type { Driver } from "@authpg/core/driver";
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores, fromClient, type Stores } from "../src/index.js";

// Replicas over Neon's two transports, through the local Neon stand-ins in front of a real primary and
// a real streaming replica of it (the HTTP endpoint and the WebSocket relay reach whichever server the
// connection string names).
const READ = { read: { model: "user", single: false } };
const WHERE = "select pg_is_in_recovery() as replica";
const options: Parameters<Stores["migrate"]>[0] = { emailAndPassword: { enabled: true } };

let server: ReplicatedServer;
let local: NeonLocal;
beforeAll(async () => {
	[server, local] = await Promise.all([startReplicatedServer(), startNeonLocal()]);
	configureNeon(neonConfig, local);
	// Better Auth's tables on the primary, replayed on the replica before any test reads them.
	const setup = createStores({ connectionString: server.primary.adminUrl });
	try {
		await setup.migrate(options);
	} finally {
		await setup.close();
	}
	await server.replica.caughtUp();
});
// The endpoints first: their pools hold connections to both servers, which the servers' shutdown would cut.
afterAll(async () => {
	await local?.close();
	await server?.stop();
});

async function onReplica(driver: Driver, opts: object = READ): Promise<boolean | undefined> {
	return (await driver.query<{ replica: boolean }>(WHERE, [], opts)).rows[0]?.replica;
}

/** The first read starts the lag probes and goes to the primary; the replica serves once a probe reports. */
async function untilOnReplica(driver: Driver): Promise<void> {
	const deadline = Date.now() + 30_000;
	while (!(await onReplica(driver))) {
		if (Date.now() > deadline) throw new Error("reads never reached the replica");
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

describe.each([
	["HTTP", "http"],
	["WebSocket", "websocket"],
] as const)("createStores({ replicas }) over %s", (_, statements) => {
	it("sends marked reads to the replica; writes, transactions and readFromPrimary to the primary", async () => {
		const stores = createStores({
			connectionString: server.primary.adminUrl,
			replicas: [server.replica.adminUrl],
			statements,
			replicaHealthInterval: 50,
		});
		try {
			expect(stores.driver.name).toBe(statements === "http" ? "neon-http" : "neon-ws");
			await untilOnReplica(stores.driver);
			expect(await onReplica(stores.driver, {})).toBe(false);
			expect(await stores.driver.transaction((tx) => onReplica(tx))).toBe(false);
			expect(await stores.readFromPrimary(() => onReplica(stores.driver))).toBe(false);
			expect(await onReplica(stores.driver)).toBe(true);
		} finally {
			await stores.close();
		}
	});

	it("finds at once a session written on the primary while the replica has not replayed it", async () => {
		const stores = createStores({
			connectionString: server.primary.adminUrl,
			replicas: [server.replica.adminUrl],
			statements,
			replicaHealthInterval: 50,
			// Far above the pause below, so the replica stays in rotation while it is behind.
			maxReplicaLag: 600_000,
		});
		const replica = new Pool({ connectionString: server.replica.adminUrl });
		replica.on("error", () => {});
		try {
			await untilOnReplica(stores.driver);
			const adapter = stores.adapter(options);
			await replica.query("select pg_wal_replay_pause()");
			try {
				const now = new Date();
				const email = `ada-${statements}@example.com`;
				const user = await adapter.create<Record<string, unknown>, { id: string }>({
					model: "user",
					data: { name: "Ada", email, emailVerified: false, createdAt: now, updatedAt: now },
				});
				const token = `tok-${statements}`;
				await adapter.create({
					model: "session",
					data: { userId: user.id, token, expiresAt: new Date(Date.now() + 60_000), createdAt: now, updatedAt: now },
				});
				// The list is the replica's (stale); the single row is asked again of the primary.
				expect(await adapter.findMany({ model: "user", where: [{ field: "email", value: email }] })).toEqual([]);
				const found = await adapter.findOne<{ user: { email: string } }>({
					model: "session",
					where: [{ field: "token", value: token }],
					join: { user: true },
				});
				expect(found?.user.email).toBe(email);
				// Inside readFromPrimary the very same list is the primary's.
				const listed = await stores.readFromPrimary(() =>
					adapter.findMany({ model: "user", where: [{ field: "email", value: email }] }),
				);
				expect(listed).toHaveLength(1);
			} finally {
				await replica.query("select pg_wal_replay_resume()");
			}
		} finally {
			await stores.close();
			await replica.end();
		}
	});
});

describe("fromClient(sql, { replicas })", () => {
	it("routes reads to the application's neon() and Pool replicas, and close() leaves every one open", async () => {
		const pool = new Pool({ connectionString: server.primary.adminUrl });
		const replicaPool = new Pool({ connectionString: server.replica.adminUrl });
		for (const p of [pool, replicaPool]) p.on("error", () => {});
		const replicaSql = neon(server.replica.adminUrl);
		try {
			for (const replica of [replicaSql, replicaPool]) {
				const stores = fromClient(neon(server.primary.adminUrl), {
					pool,
					replicas: [replica],
					replicaHealthInterval: 50,
				});
				await untilOnReplica(stores.driver);
				expect(await onReplica(stores.driver, {})).toBe(false);
				await stores.close();
			}
			expect((await replicaPool.query(WHERE)).rows[0]).toEqual({ replica: true });
			expect((await replicaSql.query(WHERE))[0]).toEqual({ replica: true });
			expect((await pool.query(WHERE)).rows[0]).toEqual({ replica: false });
		} finally {
			await Promise.all([pool.end(), replicaPool.end()]);
		}
	});
});

describe("createStores({ replicas }) input", () => {
	it("refuses a replica that is not a connection string", () => {
		expect(() =>
			createStores({ connectionString: server.primary.adminUrl, replicas: [""] as readonly string[] }),
		).toThrow(/connection string/);
	});
});
