/**
 * `runFaults`: the fault suite for a driver that holds connections (a pool or
 * a client), in a test file of the driver's own. Kept apart from
 * `runConformance` because it needs to configure the driver (connection
 * limit, `application_name`, `statement_timeout`) and restarts a server.
 */
import { afterAll, describe } from "vitest";
import { startTestDatabase } from "../harness/database.js";
import type { RestartableTestServer } from "../harness/database-embedded.js";
import { type FaultTarget, faultsSuite } from "./faults.js";
import { reportCounts } from "./report.js";

export type { FaultConnectOptions, FaultTarget } from "./faults.js";

/**
 * Register the fault suite for `target`. Call it at the top level of a test
 * file: `await runFaults({ name, connect })`. The server-restart test always
 * runs on an embedded PostgreSQL of its own, never on a shared server.
 */
export async function runFaults(target: FaultTarget): Promise<void> {
	const database = await startTestDatabase({ prefix: `${target.name}_faults` });
	let restartable: Promise<RestartableTestServer> | undefined;
	afterAll(async () => {
		await Promise.all([database.close(), restartable?.then((server) => server.stop())]);
	});
	describe(`${target.name}: faults`, () => {
		reportCounts(`${target.name} (${database.source}): faults`);
		faultsSuite(target, {
			url: () => database.url,
			restartable: () => {
				restartable ??= import("../harness/database-embedded.js").then(({ startEmbeddedServer }) =>
					startEmbeddedServer(),
				);
				return restartable;
			},
		});
	});
}
