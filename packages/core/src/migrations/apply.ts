/**
 * Applying a migration plan: one transaction under an advisory lock derived
 * from the schema, re-planned inside the lock, with lock and statement
 * timeouts; the history row in the same transaction. Planning is `plan.ts`.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import type { Driver } from "../driver/contract.js";
import { AuthpgError } from "../errors.js";
import { compileSchema } from "../model.js";
import { storesIn } from "../stores/tables.js";
import { diff } from "./diff.js";
import { CORE_TOOL, recordMigration } from "./history.js";
import { introspect } from "./introspect.js";
import {
	type MigrationBlocker,
	type MigrationPlan,
	type MigrationStep,
	type PlanOptions,
	planSql,
	probeOf,
} from "./plan.js";

/** Options of {@link applyMigrations}. */
export interface ApplyOptions extends PlanOptions {
	/** `lock_timeout` for each statement, so a migration never queues behind live traffic for long. Default 10 s. */
	lockTimeoutMs?: number;
	/** `statement_timeout` for each statement. Default 10 minutes (index builds on big tables take time). */
	statementTimeoutMs?: number;
	/**
	 * What applies the plan, with its version, for the history row
	 * (`authpg_migrations.tool`). Default `@authpg/core <version>`.
	 */
	tool?: string;
	/** Called after each step with its duration. */
	onStep?: (step: MigrationStep, index: number, total: number, ms: number) => void;
}

/** Thrown when the plan holds changes the planner will not make by itself. Nothing was applied. */
export class UnsafeMigrationError extends AuthpgError {
	constructor(readonly blockers: readonly MigrationBlocker[]) {
		super(
			"UNSAFE_MIGRATION",
			`The migration was refused, nothing was applied:\n${blockers.map((b) => `  - ${b.message}`).join("\n")}`,
		);
	}
}

/** Thrown when a migration step fails; names the step and its SQL. Everything in the transaction was rolled back. */
export class MigrationError extends AuthpgError {
	constructor(
		readonly step: MigrationStep,
		cause: unknown,
	) {
		super(
			"MIGRATION_FAILED",
			`Migration step ${step.kind} ${step.target} failed${step.concurrently ? "" : ", and every step was rolled back"}: ${cause instanceof Error ? cause.message : String(cause)}\n  SQL: ${step.sql}`,
			{ cause },
		);
	}
}

/**
 * Plan and apply in one transaction under an advisory lock derived from the
 * schema name, re-planning inside the lock (a concurrent migrator that got
 * there first leaves nothing to do). Blockers refuse the whole plan. Steps
 * marked `concurrently` run after the commit, outside any transaction.
 * Returns the plan that was applied.
 */
export async function applyMigrations(
	driver: Driver,
	options: BetterAuthOptions,
	applyOptions: ApplyOptions = {},
): Promise<MigrationPlan> {
	const schema = compileSchema(options, applyOptions);
	const lockTimeout = `${Math.max(0, Math.floor(applyOptions.lockTimeoutMs ?? 10_000))}ms`;
	const statementTimeout = `${Math.max(0, Math.floor(applyOptions.statementTimeoutMs ?? 600_000))}ms`;
	let done = 0;
	const run = async (tx: Driver, step: MigrationStep, total: number) => {
		const started = Date.now();
		try {
			await tx.query(step.sql, []);
		} catch (error) {
			throw new MigrationError(step, error);
		}
		applyOptions.onStep?.(step, done++, total, Date.now() - started);
	};
	const inLock = async (tx: Driver) => {
		const started = Date.now();
		await tx.query("select set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)", [
			lockTimeout,
			statementTimeout,
		]);
		await tx.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [`authpg:migrate:${schema.namespace}`]);
		const live = await introspect(tx, schema.namespace);
		const plan = await diff(
			schema,
			live,
			{ ...applyOptions, stores: applyOptions.stores ?? storesIn(options) },
			probeOf(tx, schema.namespace),
		);
		if (plan.blockers.length > 0) throw new UnsafeMigrationError(plan.blockers);
		for (const step of plan.steps) if (!step.concurrently) await run(tx, step, plan.steps.length);
		// An empty plan leaves no row: the history lists changes, not checks.
		if (plan.steps.length > 0) {
			await recordMigration(
				tx,
				schema.namespace,
				plan.steps,
				planSql(plan),
				applyOptions.tool ?? CORE_TOOL,
				Date.now() - started,
			);
		}
		return plan;
	};
	const plan = driver.capabilities.transactions ? await driver.transaction(inLock) : await inLock(driver);
	for (const step of plan.steps) if (step.concurrently) await run(driver, step, plan.steps.length);
	return plan;
}
