import { describe, expect, it } from "vitest";
import type { Driver, QueryOptions } from "../src/driver/contract.js";
import { replicatedDriver } from "../src/driver/replicas.js";
import { storesFor } from "../src/stores/wiring.js";

/** A driver that answers every statement with its own name, and the probe as a caught-up replica. */
function fake(name: string, seen: string[]): Driver {
	const driver: Driver = {
		name,
		capabilities: { transactions: true, preparedStatements: false },
		async query<R>(sql: string, _params: readonly unknown[], _opts?: QueryOptions) {
			if (sql.includes("pg_is_in_recovery") || sql.includes("pg_current_wal_flush_lsn")) {
				return { rows: [{ recovery: true, caught_up: true, behind_ms: 0, lsn: "0/0" }] as R[], rowCount: 1 };
			}
			seen.push(name);
			return { rows: [{ on: name }] as R[], rowCount: 1 };
		},
		transaction: (fn) => fn(driver),
		close: async () => {},
	};
	return driver;
}

const READ: QueryOptions = { read: { model: "session", single: true } };

describe("stores.readFromPrimary", () => {
	it("sends the reads made inside its callback, however deep, to the primary, and only those", async () => {
		const seen: string[] = [];
		const driver = replicatedDriver({ primary: fake("primary", seen), replicas: [fake("replica", seen)] });
		await driver.checkHealth();
		const stores = storesFor(driver, {}, () => driver.close());
		const read = async () => (await stores.driver.query<{ on: string }>("select 1", [], READ)).rows[0]?.on;

		expect(await read()).toBe("replica");
		expect(await stores.readFromPrimary(read)).toBe("primary");
		// Carried across awaits and timers, and through nested scopes.
		const deep = await stores.readFromPrimary(async () => {
			await new Promise((resolve) => setTimeout(resolve, 1));
			return [await read(), await stores.readFromPrimary(read), await read()];
		});
		expect(deep).toEqual(["primary", "primary", "primary"]);
		// Work running beside the scope, not inside it, still reads from the replica.
		const [inside, beside] = await Promise.all([stores.readFromPrimary(read), read()]);
		expect([inside, beside]).toEqual(["primary", "replica"]);
		expect(await read()).toBe("replica");
		// The callback's result and error are the caller's.
		await expect(stores.readFromPrimary(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
		await stores.close();
	});

	it("leaves other stores' reads alone", async () => {
		const seen: string[] = [];
		const a = replicatedDriver({ primary: fake("a-primary", seen), replicas: [fake("a-replica", seen)] });
		const b = replicatedDriver({ primary: fake("b-primary", seen), replicas: [fake("b-replica", seen)] });
		await Promise.all([a.checkHealth(), b.checkHealth()]);
		const storesA = storesFor(a, {}, () => a.close());
		const storesB = storesFor(b, {}, () => b.close());
		const read = async (driver: Driver) => (await driver.query<{ on: string }>("select 1", [], READ)).rows[0]?.on;
		const got = await storesA.readFromPrimary(async () => [await read(storesA.driver), await read(storesB.driver)]);
		expect(got).toEqual(["a-primary", "b-replica"]);
		await Promise.all([storesA.close(), storesB.close()]);
	});

	it("changes nothing on stores without replicas", async () => {
		const seen: string[] = [];
		const stores = storesFor(fake("only", seen), {}, async () => {});
		expect(await stores.readFromPrimary(async () => (await stores.driver.query("select 1", [], READ)).rowCount)).toBe(
			1,
		);
		expect(seen).toEqual(["only"]);
	});
});
