import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		// One PostgreSQL server for the run; each test file creates its own database on it.
		globalSetup: ["@authpg/conformance/global-setup"],
		// Starting PostgreSQL (embedded or in a container) can take a while on a cold machine.
		hookTimeout: 120_000,
		testTimeout: 60_000,
	},
});
