/**
 * Every suite of `@better-auth/test-utils/adapter`, run against our adapter
 * with migrations done by our planner. None is skipped.
 */
import { applyMigrations, type Driver, postgresAdapter, secondaryStorage } from "@authpg/core";
import {
	authFlowTestSuite,
	caseInsensitiveTestSuite,
	joinsTestSuite,
	normalTestSuite,
	numberIdTestSuite,
	testAdapter,
	transactionsTestSuite,
	uuidTestSuite,
} from "@better-auth/test-utils/adapter";
import type { BetterAuthOptions } from "better-auth";

/**
 * Register Better Auth's adapter suites on `driver`. As in Better Auth's own
 * Postgres tests, every migration starts from an empty `public` schema (the
 * suites switch id kinds and add required columns to tables that hold rows);
 * the planner then creates everything.
 */
export async function registerBetterAuthSuites(name: string, driver: () => Driver): Promise<void> {
	const runMigrations = async (options: BetterAuthOptions) => {
		await driver().query("drop schema if exists public cascade", []);
		await driver().query("create schema public", []);
		await applyMigrations(driver(), options);
	};
	const { execute } = await testAdapter({
		adapter: () => postgresAdapter(driver()),
		runMigrations,
		prefixTests: name,
		tests: [
			normalTestSuite(),
			transactionsTestSuite(),
			authFlowTestSuite(),
			numberIdTestSuite(),
			joinsTestSuite(),
			uuidTestSuite(),
			caseInsensitiveTestSuite(),
		],
	});
	execute();

	// Better Auth's auth flow again, with sessions in our secondary storage.
	const withStorage = await testAdapter({
		adapter: () => postgresAdapter(driver()),
		runMigrations: async (options) => {
			await runMigrations(options);
			await applyMigrations(driver(), options, { stores: ["secondaryStorage"] });
		},
		overrideBetterAuthOptions: (options) => ({ ...options, secondaryStorage: secondaryStorage(driver()) }),
		prefixTests: `${name} + secondaryStorage`,
		tests: [authFlowTestSuite()],
	});
	withStorage.execute();
}
