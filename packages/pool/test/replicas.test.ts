import { type ReplicatedServer, startReplicatedServer } from "@authpg/conformance";
import { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromPool } from "../src/index.js";

const READ = { read: { model: "user", single: false } };
const WHERE = "select pg_is_in_recovery() as replica";

describe("fromPool(pool, { replicas })", () => {
	let server: ReplicatedServer;
	beforeAll(async () => {
		server = await startReplicatedServer();
	});
	afterAll(() => server?.stop());

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
