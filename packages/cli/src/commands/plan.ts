/**
 * `authpg plan`: the steps (and their SQL) that would bring the database up
 * to the config; applies nothing.
 */
import { planMigrations } from "@authpg/core";
import type { PlanFlags } from "../args.js";
import { Exit, type ExitCode } from "../exit.js";
import { formatPlan, planJson, styleFor } from "../format.js";
import { out } from "../output.js";
import { withDatabase } from "../planning.js";

/** `authpg plan`: the steps and their SQL; exit 0 whenever a plan could be made. */
export function plan(flags: PlanFlags): Promise<ExitCode> {
	return withDatabase(flags, async ({ project, connection, header, planOptions }) => {
		const result = await planMigrations(connection.driver, project.options, planOptions);
		if (flags.json) {
			out(planJson(result, { inSync: result.steps.length === 0 && result.blockers.length === 0 }));
			return Exit.ok;
		}
		const style = styleFor(process.stdout);
		out(`Plan for ${header}`);
		out(formatPlan(result, style));
		if (result.steps.length === 0 && result.blockers.length === 0) out("The database matches the config.");
		else if (result.blockers.length > 0) out("Resolve the blockers above, then run `authpg migrate`.");
		else out("Run `authpg migrate` to apply.");
		return Exit.ok;
	});
}
