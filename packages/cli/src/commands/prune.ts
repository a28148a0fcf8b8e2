/**
 * `authpg prune`: delete expired rows now (or count them, `--dry-run`), or
 * schedule the same with pg_cron (`--schedule`).
 */
import { resolve } from "node:path";
import { dollarQuoted, prune, pruneSql, pruneTargets } from "@authpg/core";
import type { PruneFlags } from "../args.js";
import { loadProject } from "../config.js";
import { connect, describeDatabase } from "../connection.js";
import { Exit, type ExitCode } from "../exit.js";
import { duration } from "../format.js";
import { err, out } from "../output.js";

/** A SQL string literal, for SQL printed for the user to paste. */
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** `authpg prune`. Exit 0 done (or scheduled), 1 when --schedule found no pg_cron. */
export async function pruneCommand(flags: PruneFlags): Promise<ExitCode> {
	const project = await loadProject(resolve(flags.cwd), flags.config);
	const connection = connect(project, flags);
	try {
		const schemaOptions = { schema: connection.namespace, usePlural: connection.usePlural };
		const where = await describeDatabase(connection);
		if (flags.schedule !== undefined) {
			const sql = pruneSql(pruneTargets(project.options, schemaOptions), flags.batchSize);
			const job = `authpg-prune-${connection.namespace}`;
			const {
				rows: [found],
			} = await connection.driver.query<{ cron: boolean; cronDatabase: string | null; database: string }>(
				`select exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') as "cron",
				        current_setting('cron.database_name', true) as "cronDatabase", current_database() as "database"`,
				[],
			);
			if (found?.cron !== true) {
				// pg_cron can only be created in cron.database_name (often "postgres", as on RDS or Cloud SQL); from
				// there, cron.schedule_in_database (pg_cron 1.4+) runs a job in this database.
				const elsewhere = found?.cronDatabase && found.cronDatabase !== found.database ? found.cronDatabase : undefined;
				if (elsewhere) {
					err(
						`pg_cron on this server belongs to database "${elsewhere}", not "${found?.database}" (${where}): nothing was scheduled. Run this SQL connected to "${elsewhere}" (pg_cron 1.4 or later), or run the prune on "${flags.schedule}" with your own scheduler (authpg prune):`,
					);
					out(
						`select cron.schedule_in_database(${literal(job)}, ${literal(flags.schedule)}, ${dollarQuoted(sql, "authpg_prune")}, ${literal(found?.database ?? "")});`,
					);
					return Exit.pending;
				}
				err(
					`pg_cron is not installed in ${where}: nothing was scheduled. Install it (create extension pg_cron) and re-run, or run this SQL on "${flags.schedule}" with your own scheduler:`,
				);
				out(`${sql};`);
				return Exit.pending;
			}
			// Named: pg_cron (1.3+) replaces a job of the same name and user, so re-running reschedules, never duplicates.
			await connection.driver.query("select cron.schedule($1, $2, $3)", [job, flags.schedule, sql]);
			out(
				`Scheduled pg_cron job "${job}" at "${flags.schedule}" on ${where}. Remove it with: select cron.unschedule(${literal(job)});`,
			);
			return Exit.ok;
		}
		const started = performance.now();
		const counts = await prune(connection.driver, project.options, {
			...schemaOptions,
			dryRun: flags.dryRun,
			batchSize: flags.batchSize,
		});
		const ms = performance.now() - started;
		if (flags.json) {
			out(JSON.stringify({ dryRun: flags.dryRun, tables: counts, ms: Math.round(ms) }, null, 2));
			return Exit.ok;
		}
		out(
			`${flags.dryRun ? "Expired rows (dry run: nothing deleted)" : "Pruned"} in schema "${connection.namespace}" of ${where}:`,
		);
		const width = Math.max(...counts.map((c) => c.table.length), 5);
		for (const c of counts) {
			out(
				`  ${c.table.padEnd(width)}  ${c.rows}${flags.dryRun ? "" : ` deleted in ${c.batches} ${c.batches === 1 ? "batch" : "batches"}`}`,
			);
		}
		const total = counts.reduce((n, c) => n + c.rows, 0);
		const rows = total === 1 ? "1 row" : `${total} rows`;
		out(`${flags.dryRun ? `${rows} would be deleted` : `${rows} deleted`} in ${duration(ms)}.`);
		return Exit.ok;
	} finally {
		await connection.close();
	}
}
