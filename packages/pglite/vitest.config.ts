import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		// No PostgreSQL server: every test runs on PGlite in this process, and a fresh PGlite takes seconds to start.
		hookTimeout: 120_000,
		testTimeout: 60_000,
	},
});
