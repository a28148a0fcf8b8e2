import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		include: ["test/**/*.test.ts"],
		globalSetup: ["./src/harness/global-setup.ts"],
		// Starting PostgreSQL (embedded or in a container) can take a while on a cold machine.
		hookTimeout: 120_000,
		testTimeout: 60_000,
	},
});
