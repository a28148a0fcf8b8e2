/**
 * `runReplicaConformance`: the whole conformance suite with reads routed to a
 * real streaming replica, for drivers whose `createStores` takes `replicas`.
 */
import type { Driver, Stores } from "@authpg/core";
import { withReplicas } from "@authpg/core/driver";
import { afterAll, describe, expect, it } from "vitest";
import { startTestDatabase } from "../harness/database.js";
import { startReplicatedServer } from "../harness/replica.js";
import { countingDriver } from "./counting-driver.js";
import { runConformance } from "./run.js";

/** A driver package under test with a replica. */
export interface ReplicaConformanceTarget {
	/** Label in test names and database prefixes, e.g. `"pool"`. */
	name: string;
	/** The package's `createDriver`: a driver for the database at `url`. */
	createDriver(url: string): Driver;
	/** The package's `createStores`, given a connection string and its replicas' connection strings. */
	createStores(config: { connectionString: string; replicas: string[]; replicaHealthInterval: number }): Stores;
}

const PROBE = /pg_last_wal_replay_lsn/;

/**
 * Register the conformance suite on a primary with one replica, the suite's reads served by the
 * replica, and a test that the package's `createStores({ replicas })` routes reads there. Call it at
 * the top level of a test file.
 */
export async function runReplicaConformance(target: ReplicaConformanceTarget): Promise<void> {
	// Synchronous (remote_apply) replication, because the suites read their own writes through
	// lists, which asynchronous replicas only promise within the lag bound; lag, pauses and a dying
	// replica are tested on asynchronous replication in the conformance package's
	// replicated-driver.test.ts.
	const server = await startReplicatedServer({ synchronous: true });
	afterAll(() => server.stop());
	const onReplica = (url: string) => server.replica.urlFor(decodeURIComponent(new URL(url).pathname.slice(1)));
	const replicaSides: { statements: string[] }[] = [];
	const name = `${target.name}-with-replica`;

	await runConformance({
		name,
		adminUrl: server.primary.adminUrl,
		connect: (url) => {
			const replica = countingDriver(target.createDriver(onReplica(url)));
			replicaSides.push(replica);
			return withReplicas(target.createDriver(url), [replica], { replicaHealthInterval: 200 });
		},
	});

	describe(name, () => {
		it("served the suite's reads from the replica", () => {
			const reads = replicaSides.flatMap((side) => side.statements.filter((sql) => !PROBE.test(sql)));
			// Without routing, only the lag probes would have reached the replica.
			expect(reads.length).toBeGreaterThan(500);
			expect(reads.every((sql) => /^\s*select/i.test(sql))).toBe(true);
		});

		it("createStores({ replicas }) sends reads to the replica and writes to the primary", async () => {
			const db = await startTestDatabase({
				prefix: `${target.name.replace(/\W/g, "_")}_replicas`,
				adminUrl: server.primary.adminUrl,
			});
			const stores = target.createStores({
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
}
