import { runFaults } from "@authpg/conformance";
import pg from "pg";
import { exampleDriver } from "../src/driver.js";

await runFaults({
	name: "example",
	connect: (url, { applicationName, max, statementTimeoutMs }) =>
		exampleDriver(
			new pg.Pool({
				connectionString: url,
				max,
				application_name: applicationName,
				statement_timeout: statementTimeoutMs,
			}),
		),
});
