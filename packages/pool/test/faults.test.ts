import { runFaults } from "@authpg/conformance";
import { createDriver } from "../src/index.js";

await runFaults({
	name: "pool",
	queryTimeout: true,
	connect: (url, { applicationName, max, statementTimeoutMs, queryTimeoutMs }) =>
		createDriver({
			connectionString: url,
			max,
			application_name: applicationName,
			statement_timeout: statementTimeoutMs,
			query_timeout: queryTimeoutMs,
		}),
});
