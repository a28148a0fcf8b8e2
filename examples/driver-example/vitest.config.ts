import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		// One PostgreSQL server for the run: AUTHPG_TEST_DATABASE_URL's, else an embedded one.
		globalSetup: ["@authpg/conformance/global-setup"],
		// Starting PostgreSQL can take a while on a cold machine.
		hookTimeout: 120_000,
		testTimeout: 60_000,
	},
});
