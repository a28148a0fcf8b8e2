import { runFaults } from "@authpg/conformance";
import { createDriver } from "../src/index.js";

await runFaults({
	name: "postgres-js",
	killedTransactionsUnsupported:
		"postgres.js 3.4.9 — after backends are killed inside two transactions, its next transaction hangs and it throws an uncaught TypeError (reproduced with postgres.js alone); single kills are covered by the query test",
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
