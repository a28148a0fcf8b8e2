import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RestartableTestServer, startEmbeddedServer } from "../src/harness/database-embedded.js";
import { startReplica, type TestReplica } from "../src/harness/replica.js";

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []) {
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	try {
		return (await client.query<T>(sql, params)).rows;
	} finally {
		await client.end();
	}
}

describe("startReplica", () => {
	let primary: RestartableTestServer;
	let replica: TestReplica;

	beforeAll(async () => {
		primary = await startEmbeddedServer();
		replica = await startReplica(primary);
	});
	afterAll(async () => {
		await replica?.stop();
		await primary?.stop();
	});

	it("streams what the primary writes to a hot standby", async () => {
		await query(primary.adminUrl, "create table replicated (id int primary key, note text)");
		await query(primary.adminUrl, "insert into replicated values (1, 'from the primary')");
		await replica.caughtUp();

		const [row] = await query<{ note: string; recovery: boolean }>(
			replica.adminUrl,
			"select note, pg_is_in_recovery() as recovery from replicated where id = 1",
		);
		expect(row).toEqual({ note: "from the primary", recovery: true });
		const [primarySide] = await query<{ recovery: boolean; senders: number }>(
			primary.adminUrl,
			"select pg_is_in_recovery() as recovery, (select count(*)::int from pg_stat_replication where state = 'streaming') as senders",
		);
		expect(primarySide).toEqual({ recovery: false, senders: 1 });
		await expect(query(replica.adminUrl, "insert into replicated values (2, 'refused')")).rejects.toThrow(
			/read-only transaction/,
		);
	});

	it("follows databases created after the backup", async () => {
		await query(primary.adminUrl, "create database later");
		const laterPrimary = new URL(primary.adminUrl);
		laterPrimary.pathname = "/later";
		await query(laterPrimary.toString(), "create table t as select 42 as answer");
		await replica.caughtUp();
		expect(await query(replica.urlFor("later"), "select answer from t")).toEqual([{ answer: 42 }]);
	});
});
