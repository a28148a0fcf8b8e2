import { describe, expect, it, vi } from "vitest";
import type { Driver } from "../src/driver/contract.js";
import { PrimaryReadsUnsupportedError } from "../src/index.js";
import { storesFor } from "../src/stores/wiring.js";

// A runtime without AsyncLocalStorage (an edge runtime without Node compatibility): Better Auth's lookup fails.
vi.mock("@better-auth/core/async_hooks", () => ({
	getAsyncLocalStorage: () => Promise.reject(new Error("AsyncLocalStorage is not available")),
}));

describe("stores.readFromPrimary without AsyncLocalStorage", () => {
	it("runs nothing and throws a typed error that says what to do instead", async () => {
		const driver: Driver = {
			name: "fake",
			capabilities: { transactions: true, preparedStatements: false },
			query: async () => ({ rows: [], rowCount: 0 }),
			transaction: (fn) => fn(driver),
			close: async () => {},
		};
		const stores = storesFor(driver, {}, async () => {});
		const fn = vi.fn(async () => "ran");
		const error = await stores.readFromPrimary(fn).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(PrimaryReadsUnsupportedError);
		expect(error).toMatchObject({ code: "PRIMARY_READS_UNSUPPORTED" });
		expect((error as Error).message).toMatch(/replicaReads/);
		expect(fn).not.toHaveBeenCalled();
	});
});
