/**
 * `runConformance`: the one suite every driver runs. Better Auth's own
 * adapter suites on one database, ours on another, both on a real Postgres.
 */
import type { Driver } from "@authpg/core";
import { afterAll, describe } from "vitest";
import { startTestDatabase, type TestDatabase } from "../harness/database.js";
import { registerBetterAuthSuites } from "./better-auth.js";
import { type ConnectionModel, registerOwnSuites } from "./index.js";
import { reportCounts } from "./report.js";

/** A driver under test. */
export interface ConformanceTarget {
	/** Label in test names and the summary, e.g. `"pool"`. */
	name: string;
	/** A driver connected to the database at `url`; the suite closes it. */
	connect(url: string): Driver | Promise<Driver>;
	/**
	 * The target is one embedded Postgres session with no server (PGlite). No
	 * test database is started: `connect` is called with an empty URL and must
	 * return a fresh, empty database each time. Tests that need a second
	 * session on the same database are reported as not applicable, with the
	 * reason; Better Auth's migrator (parity tests) runs on the target itself.
	 */
	singleSession?: boolean;
	/**
	 * How the driver maps callers to sessions: `"pool"` (default) runs concurrent
	 * transactions on separate connections; `"one"` queues every caller on one
	 * session while a transaction holds it (always so for `singleSession`).
	 */
	connections?: ConnectionModel;
	/**
	 * Create the test databases on this server instead of the run's (e.g. the primary of
	 * `startReplicatedServer`, so that `connect` can reach the same database on its replica).
	 */
	adminUrl?: string;
}

/**
 * Register the full conformance suite for `target`. Call it at the top level
 * of a test file: `await runConformance({ name, connect })`.
 */
export async function runConformance(target: ConformanceTarget): Promise<void> {
	const [upstreamDb, ownDb] = target.singleSession
		? [undefined, undefined]
		: await Promise.all([
				startTestDatabase({ prefix: `${target.name}_ba`, adminUrl: target.adminUrl }),
				startTestDatabase({ prefix: `${target.name}_own`, adminUrl: target.adminUrl }),
			]);
	const upstream = await target.connect(upstreamDb?.url ?? "");
	const own = await target.connect(ownDb?.url ?? "");
	afterAll(async () => {
		await Promise.all([upstream.close(), own.close()]);
		await Promise.all([upstreamDb?.close(), ownDb?.close()]);
	});
	const connections = target.singleSession ? "one" : (target.connections ?? "pool");
	const source = (db: TestDatabase | undefined) => db?.source ?? "single session";

	describe(`${target.name}: Better Auth adapter suites`, async () => {
		reportCounts(`${target.name} (${source(upstreamDb)}): Better Auth adapter suites`);
		await registerBetterAuthSuites(target.name, () => upstream);
	});
	describe(`${target.name}: authpg suites`, () => {
		reportCounts(`${target.name} (${source(ownDb)}): authpg suites`);
		registerOwnSuites(
			ownDb
				? { driver: () => own, connect: () => target.connect(ownDb.url), url: ownDb.url, connections }
				: { driver: () => own, connect: undefined, url: undefined, connections },
		);
	});
}
