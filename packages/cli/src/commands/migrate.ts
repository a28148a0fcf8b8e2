/**
 * `authpg migrate`: print the plan, confirm, and apply it in one transaction
 * with per-step progress.
 */
import { applyMigrations, type MigrationPlan, planMigrations } from "@authpg/core";
import type { MigrateFlags } from "../args.js";
import { Exit, type ExitCode } from "../exit.js";
import { duration, formatPlan, formatStep, styleFor, summaryLine } from "../format.js";
import { err, out } from "../output.js";
import { withDatabase } from "../planning.js";
import { approved } from "../prompt.js";
import { cliTool } from "../version.js";

/** `authpg migrate`: print the plan, confirm, apply with per-step progress. */
export function migrate(flags: MigrateFlags): Promise<ExitCode> {
	return withDatabase(flags, async ({ project, connection, header, planOptions }) => {
		const style = styleFor(process.stdout);
		const planned = await planMigrations(connection.driver, project.options, planOptions);
		out(`Migration for ${header}`);
		out(formatPlan(planned, style));
		if (planned.blockers.length > 0) {
			err(style.red("Refused: the plan has blockers (listed above). Nothing was applied."));
			return Exit.pending;
		}
		if (planned.steps.length === 0) {
			out("Nothing to do: the database matches the config.");
			return Exit.ok;
		}
		const go = await approved(flags.yes, {
			question: `Apply ${summaryLine(planned)} to ${header}?`,
			refused: `Refused: not applying ${planned.steps.length === 1 ? "this step" : `these ${planned.steps.length} steps`} without confirmation, and stdin is not a terminal to ask on. Re-run with --yes to apply them. Nothing was applied.`,
			cancelled: "Cancelled. Nothing was applied.",
		});
		if (!go) return Exit.pending;
		out("");
		const started = performance.now();
		const applied = await applyMigrations(connection.driver, project.options, {
			...planOptions,
			lockTimeoutMs: flags.lockTimeoutMs,
			statementTimeoutMs: flags.statementTimeoutMs,
			tool: cliTool(),
			onStep: (step, index, total, ms) => {
				out(
					`[${index + 1}/${total}] ${formatStep(step, index, style, false).replace(/^\s*\d+\.\s*/, "")}  ${duration(ms)}`,
				);
			},
		});
		return finished(applied, planned, performance.now() - started, style);
	});
}

function finished(applied: MigrationPlan, planned: MigrationPlan, ms: number, style: ReturnType<typeof styleFor>) {
	if (applied.steps.length === 0) {
		out(style.green("Nothing left to do: another migrator applied the plan first."));
	} else {
		out(
			style.green(
				`Applied ${applied.steps.length === 1 ? "1 step" : `${applied.steps.length} steps`} in ${duration(ms)}.`,
			),
		);
		if (applied.steps.length !== planned.steps.length) {
			out("(The plan changed while waiting for the migration lock: another migrator applied part of it.)");
		}
	}
	return Exit.ok;
}
