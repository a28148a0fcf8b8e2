/**
 * The four commands. Each returns its exit code; output goes to stdout,
 * prompts, progress notes and errors to stderr, so `authpg generate > x.sql`
 * and `authpg status --json | jq` stay clean.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
	applyMigrations,
	lastMigration,
	type MigrationPlan,
	type MigrationRecord,
	type PlanOptions,
	planFresh,
	planMigrations,
	planSql,
} from "@authpg/core";
import type { GenerateFlags, MigrateFlags, PlanFlags, PlanningFlags, StatusFlags } from "./args.js";
import { loadProject, type Project } from "./config.js";
import { type Connection, connect, describeDatabase, naming } from "./connection.js";
import { Exit, type ExitCode } from "./exit.js";
import { duration, formatPlan, formatStep, planJson, styleFor, summaryLine } from "./format.js";
import { canAsk, confirm } from "./prompt.js";
import { cliTool } from "./version.js";

const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
const err = (text: string) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);

async function load(flags: { cwd: string; config?: string }): Promise<Project> {
	const project = await loadProject(resolve(flags.cwd), flags.config);
	if (project.others.length > 0) {
		err(`Using ${project.shown} (also found: ${project.others.join(", ")}; pass --config to choose).`);
	}
	return project;
}

/** Load the config, connect, run `fn`, and always close what was opened. */
async function withDatabase(
	flags: PlanningFlags,
	fn: (ctx: {
		project: Project;
		connection: Connection;
		header: string;
		planOptions: PlanOptions;
	}) => Promise<ExitCode>,
): Promise<ExitCode> {
	const project = await load(flags);
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
		if (!flags.yes) {
			if (!canAsk()) {
				err(
					`Refused: not applying ${planned.steps.length === 1 ? "this step" : `these ${planned.steps.length} steps`} without confirmation, and stdin is not a terminal to ask on. Re-run with --yes to apply them. Nothing was applied.`,
				);
				return Exit.pending;
			}
			if (!(await confirm(`Apply ${summaryLine(planned)} to ${header}?`))) {
				err("Cancelled. Nothing was applied.");
				return Exit.pending;
			}
		}
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

/** `authpg generate`: the full schema SQL, offline. */
export async function generate(flags: GenerateFlags): Promise<ExitCode> {
	const project = await load(flags);
	try {
		const { namespace, usePlural } = naming(project, flags.schema);
		const plan = await planFresh(project.options, { schema: namespace, usePlural });
		const sql = `-- Better Auth schema for authpg: schema "${namespace}", from ${project.shown}.\n-- Generated by \`authpg generate\`; \`authpg status\` checks a database against the same config.\n\n${planSql(plan)}`;
		if (flags.output === undefined) {
			out(sql);
			return Exit.ok;
		}
		const file = resolve(flags.cwd, flags.output);
		if (existsSync(file) && !flags.yes) {
			if (!canAsk()) {
				err(`Refused: ${file} exists. Re-run with --yes to overwrite it.`);
				return Exit.pending;
			}
			if (!(await confirm(`${file} exists. Overwrite it?`))) {
				err("Cancelled. Nothing was written.");
				return Exit.pending;
			}
		}
		mkdirSync(dirname(file), { recursive: true });
		writeFileSync(file, sql);
		err(`Wrote the schema for "${namespace}" to ${file}.`);
		return Exit.ok;
	} finally {
		await project.authpg?.driver.close();
	}
}
