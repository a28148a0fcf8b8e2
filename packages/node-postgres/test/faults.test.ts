import { runFaults } from "@authpg/conformance";
import { createDriver } from "../src/index.js";

await runFaults({
	name: "node-postgres",
	singleConnection: true,
	queryTimeout: true,
	connect: (url, { applicationName, statementTimeoutMs, queryTimeoutMs }) =>
		createDriver({
			connectionString: url,
			application_name: applicationName,
			statement_timeout: statementTimeoutMs,
			query_timeout: queryTimeoutMs,
		}),
});
