/**
 * `runConformance`: the one suite every driver runs. Better Auth's own
 * adapter suites on one database, ours on another, both on a real Postgres.
 */
import type { Driver } from "@authpg/core";
import { afterAll, describe } from "vitest";
import { registerBetterAuthSuites } from "./better-auth-suites.js";
import { startTestDatabase } from "./database.js";
import { reportCounts } from "./report.js";
import { registerOwnSuites } from "./suites/index.js";

/** A driver under test. */
export interface ConformanceTarget {
	/** Label in test names and the summary, e.g. `"pool"`. */
	name: string;
	/** A driver connected to the database at `url`; the suite closes it. */
	connect(url: string): Driver | Promise<Driver>;
}

/**
 * Register the full conformance suite for `target`. Call it at the top level
 * of a test file: `await runConformance({ name, connect })`.
 */
export async function runConformance(target: ConformanceTarget): Promise<void> {
	const [upstreamDb, ownDb] = await Promise.all([
		startTestDatabase({ prefix: `${target.name}_ba` }),
		startTestDatabase({ prefix: `${target.name}_own` }),
	]);
	const upstream = await target.connect(upstreamDb.url);
	const own = await target.connect(ownDb.url);
	afterAll(async () => {
		await Promise.all([upstream.close(), own.close()]);
		await Promise.all([upstreamDb.close(), ownDb.close()]);
	});

	describe(`${target.name}: Better Auth adapter suites`, async () => {
		reportCounts(`${target.name} (${upstreamDb.source}): Better Auth adapter suites`);
		await registerBetterAuthSuites(target.name, () => upstream);
	});
	describe(`${target.name}: authpg suites`, () => {
		reportCounts(`${target.name} (${ownDb.source}): authpg suites`);
		registerOwnSuites({ driver: () => own, connect: () => target.connect(ownDb.url), url: ownDb.url });
	});
}
