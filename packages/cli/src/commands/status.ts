/**
 * `authpg status`: whether the database matches the config, as the exit code
 * (for CI), with the last migration recorded.
 */
import { lastMigration, type MigrationRecord, planMigrations } from "@authpg/core";
import type { StatusFlags } from "../args.js";
import { Exit, type ExitCode } from "../exit.js";
import { duration, formatPlan, planJson, styleFor } from "../format.js";
import { out } from "../output.js";
import { withDatabase } from "../planning.js";

/** `authpg status`: 0 in sync, 1 when steps are pending or blockers exist (or warnings, with --strict). */
export function status(flags: StatusFlags): Promise<ExitCode> {
	return withDatabase(flags, async ({ project, connection, header, planOptions }) => {
		const result = await planMigrations(connection.driver, project.options, planOptions);
		const last = await lastMigration(connection.driver, connection.namespace);
		const inSync =
			result.steps.length === 0 && result.blockers.length === 0 && (!flags.strict || result.warnings.length === 0);
		if (flags.json) {
			out(planJson(result, { inSync, lastMigration: last ?? null }));
			return inSync ? Exit.ok : Exit.pending;
		}
		const style = styleFor(process.stdout);
		out(`Status of ${header}`);
		out(lastMigrationLine(last));
		out(formatPlan(result, style, false));
		out(
			inSync
				? style.green("In sync: the database matches the config.")
				: style.red(
						result.blockers.length > 0
							? "Out of sync: resolve the blockers, then run `authpg migrate`."
							: result.steps.length > 0
								? "Out of sync: run `authpg plan` to see the SQL, `authpg migrate` to apply it."
								: "Out of sync (--strict): see the warnings above.",
					),
		);
		return inSync ? Exit.ok : Exit.pending;
	});
}

function lastMigrationLine(last: MigrationRecord | undefined): string {
	if (!last) return "Last migration: none recorded (authpg_migrations is missing or empty).";
	const steps = last.steps.length === 1 ? "1 step" : `${last.steps.length} steps`;
	return `Last migration: #${last.id} at ${last.appliedAt.toISOString()} by ${last.tool}: ${steps} in ${duration(last.durationMs)} (plan ${last.planHash.slice(0, 12)}).`;
}
