import { type ReplicatedServer, startReplicatedServer } from "@authpg/conformance";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores, fromClient, type Stores } from "../src/index.js";

const READ = { read: { model: "user", single: false } };
const WHERE = "select pg_is_in_recovery() as replica";
const options: Parameters<Stores["migrate"]>[0] = { emailAndPassword: { enabled: true } };

let server: ReplicatedServer;
beforeAll(async () => {
	server = await startReplicatedServer();
});
afterAll(() => server?.stop());

async function onReplica(stores: Stores, opts: object = READ): Promise<boolean | undefined> {
	return (await stores.driver.query<{ replica: boolean }>(WHERE, [], opts)).rows[0]?.replica;
}

/** The first read starts the lag probes and goes to the primary; the replica serves once a probe reports. */
async function untilOnReplica(stores: Stores): Promise<void> {
	const deadline = Date.now() + 30_000;
	while (!(await onReplica(stores))) {
		if (Date.now() > deadline) throw new Error("reads never reached the replica");
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

describe("createStores({ replicas })", () => {
	it("sends marked reads to the replica's client; writes, transactions and readFromPrimary to the primary's", async () => {
		const stores = createStores({
			connectionString: server.primary.adminUrl,
			replicas: [server.replica.adminUrl],
			replicaHealthInterval: 50,
			// Far above the pause below, so the replica stays in rotation while it is behind.
			maxReplicaLag: 600_000,
		});
		const replica = new Client({ connectionString: server.replica.adminUrl });
		replica.on("error", () => {});
		await replica.connect();
		try {
			await stores.migrate(options);
			await server.replica.caughtUp();
			await untilOnReplica(stores);
			expect(await onReplica(stores, {})).toBe(false);
			expect(await stores.transaction((tx) => tx.query<{ replica: boolean }>(WHERE, [], READ))).toMatchObject({
				rows: [{ replica: false }],
			});
			expect(await stores.readFromPrimary(() => onReplica(stores))).toBe(false);

			// Better Auth's reads while replay is paused: a list is the replica's, a single row found at once.
			const adapter = stores.adapter(options);
			await replica.query("select pg_wal_replay_pause()");
			try {
				const now = new Date();
				const user = await adapter.create<Record<string, unknown>, { id: string }>({
					model: "user",
					data: { name: "Ada", email: "ada@example.com", emailVerified: false, createdAt: now, updatedAt: now },
				});
				await adapter.create({
					model: "session",
					data: {
						userId: user.id,
						token: "tok",
						expiresAt: new Date(Date.now() + 60_000),
						createdAt: now,
						updatedAt: now,
					},
				});
				expect(await adapter.count({ model: "user" })).toBe(0);
				const found = await adapter.findOne<{ user: { email: string } }>({
					model: "session",
					where: [{ field: "token", value: "tok" }],
					join: { user: true },
				});
				expect(found?.user.email).toBe("ada@example.com");
				expect(await stores.readFromPrimary(() => adapter.count({ model: "user" }))).toBe(1);
			} finally {
				await replica.query("select pg_wal_replay_resume()");
			}
		} finally {
			await stores.close();
			await replica.end();
		}
	});
});

describe("fromClient(client, { replicas })", () => {
	it("routes marked reads to the application's replica client, and close() leaves both clients open", async () => {
		const primary = new Client({ connectionString: server.primary.adminUrl });
		const replica = new Client({ connectionString: server.replica.adminUrl });
		// As an application must: the servers' shutdown in afterAll may reach a client still closing.
		for (const client of [primary, replica]) client.on("error", () => {});
		try {
			const stores = fromClient(primary, { replicas: [replica], replicaHealthInterval: 50 });
			await untilOnReplica(stores);
			expect(await onReplica(stores, {})).toBe(false);
			await stores.close();
			expect((await primary.query(WHERE)).rows[0]).toEqual({ replica: false });
			expect((await replica.query(WHERE)).rows[0]).toEqual({ replica: true });
		} finally {
			await Promise.all([primary.end(), replica.end()]);
		}
	});
});
