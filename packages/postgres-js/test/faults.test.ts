import { runFaults } from "@authpg/conformance";
import { createDriver } from "../src/index.js";

await runFaults({
	name: "postgres-js",
	connect: (url, { applicationName, max, statementTimeoutMs }) =>
		createDriver({
			connectionString: url,
			max,
			connection: {
				application_name: applicationName,
				...(statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs }),
			},
		}),
});
