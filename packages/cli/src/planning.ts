/**
 * What `plan`, `status` and `migrate` share: load the config, connect, and
 * describe where they run and with which planner options.
 */
import type { PlanOptions } from "@authpg/core";
import type { PlanningFlags } from "./args.js";
import { loadConfig, type Project } from "./config.js";
import { type Connection, connect, describeDatabase } from "./connection.js";
import type { ExitCode } from "./exit.js";

/** Load the config, connect, run `fn`, and always close what was opened. */
export async function withDatabase(
	flags: PlanningFlags,
	fn: (ctx: {
		project: Project;
		connection: Connection;
		header: string;
		planOptions: PlanOptions;
	}) => Promise<ExitCode>,
): Promise<ExitCode> {
	const project = await loadConfig(flags);
	const connection = connect(project, flags);
	try {
		const where = await describeDatabase(connection);
		const header = `schema "${connection.namespace}" in ${where} (config: ${project.shown}${flags.url ? `, --url ${connection.via}` : ""})`;
		const planOptions: PlanOptions = {
			schema: connection.namespace,
			usePlural: connection.usePlural,
			concurrently: flags.concurrently,
			convertArrays: flags.convertArrays,
			caseInsensitiveIndexes: flags.caseInsensitiveIndexes,
		};
		return await fn({ project, connection, header, planOptions });
	} finally {
		await connection.close();
	}
}
