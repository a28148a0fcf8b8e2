import { countingDriver, runConformance, startReplicatedServer, startTestDatabase } from "@authpg/conformance";
import { withReplicas } from "@authpg/core/driver";
import { afterAll, describe, expect, it } from "vitest";
import { createDriver, createStores } from "../src/index.js";

// The whole suite with reads routed to a real streaming replica. Synchronous (remote_apply)
// replication, because the suites read their own writes through lists, which asynchronous
// replicas only promise within the lag bound; lag, pauses and a dying replica are tested on
// asynchronous replication in the conformance package's replicated-driver.test.ts.
const server = await startReplicatedServer({ synchronous: true });
afterAll(() => server.stop());

function onReplica(url: string): string {
	return server.replica.urlFor(decodeURIComponent(new URL(url).pathname.slice(1)));
}

const PROBE = /pg_last_wal_replay_lsn/;
const replicaSides: { statements: string[] }[] = [];

await runConformance({
	name: "pool-with-replica",
	adminUrl: server.primary.adminUrl,
	connect: (url) => {
		const replica = countingDriver(createDriver(onReplica(url)));
		replicaSides.push(replica);
		return withReplicas(createDriver(url), [replica], { replicaHealthInterval: 200 });
	},
});

describe("pool-with-replica", () => {
	it("served the suite's reads from the replica", () => {
		const reads = replicaSides.flatMap((side) => side.statements.filter((sql) => !PROBE.test(sql)));
		// Without routing, only the lag probes would have reached the replica.
		expect(reads.length).toBeGreaterThan(500);
		expect(reads.every((sql) => /^\s*select/i.test(sql))).toBe(true);
	});

	it("createStores({ replicas }) sends reads to the replica and writes to the primary", async () => {
		const db = await startTestDatabase({ prefix: "pool_replicas", adminUrl: server.primary.adminUrl });
		const stores = createStores({
			connectionString: db.url,
			replicas: [onReplica(db.url)],
			replicaHealthInterval: 50,
		});
		try {
			const where = (opts: object) =>
				stores.driver.query<{ replica: boolean }>("select pg_is_in_recovery() as replica", [], opts);
			const read = { read: { model: "user", single: false } };
			// The first read starts the probes and goes to the primary; the replica serves once one reports.
			const deadline = Date.now() + 30_000;
			while (!(await where(read)).rows[0]?.replica) {
				if (Date.now() > deadline) throw new Error("reads never reached the replica");
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
			expect((await where({})).rows[0]?.replica).toBe(false);
			expect(
				(
					await stores.transaction((tx) =>
						tx.query<{ replica: boolean }>("select pg_is_in_recovery() as replica", [], read),
					)
				).rows[0]?.replica,
			).toBe(false);
		} finally {
			await stores.close();
			await db.close();
		}
	});
});
