/**
 * Migration history: one row per applied plan in `authpg_migrations`, in the
 * auth schema, written in the same transaction as the plan's steps — so a
 * row exists exactly when its plan committed. The planner creates the table
 * as the first step of the first plan that changes anything.
 */
import { sql } from "kysely";
import { version as coreVersion } from "../../package.json";
import { compiler } from "../compiler.js";
import type { Driver } from "../driver/contract.js";
import type { SchemaStep } from "./ddl.js";

/** The history table's name (in the auth schema). */
export const HISTORY_TABLE = "authpg_migrations";

/** The default `tool` of a history row. */
export const CORE_TOOL = `@authpg/core ${coreVersion}`;

/** One applied migration, as {@link lastMigration} reads it back. */
export interface MigrationRecord {
	readonly id: number;
	readonly appliedAt: Date;
	/** What applied it, with its version: `@authpg/cli 1.2.0`, `@authpg/core 1.2.0`. */
	readonly tool: string;
	/** SHA-256 (hex) of the plan's SQL script, as `planSql` prints it. */
	readonly planHash: string;
	readonly steps: readonly { kind: string; target: string; sql: string; concurrently?: boolean }[];
	/** From taking the migration lock to the last step in the transaction. */
	readonly durationMs: number;
}

/** `create table if not exists` for the history table. */
export function createHistoryStep(namespace: string): SchemaStep {
	const query = compiler.schema
		.withSchema(namespace)
		.createTable(HISTORY_TABLE)
		.ifNotExists()
		.addColumn("id", sql`bigint generated always as identity`, (c) => c.primaryKey())
		.addColumn("applied_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
		.addColumn("tool", "text", (c) => c.notNull())
		.addColumn("plan_hash", "text", (c) => c.notNull())
		.addColumn("steps", "jsonb", (c) => c.notNull())
		.addColumn("duration_ms", "integer", (c) => c.notNull());
	return { kind: "createTable", target: HISTORY_TABLE, sql: query.compile().sql, safety: "safe" };
}

/**
 * Append the row for `steps` (already run, or — for `concurrently` steps —
 * about to run after the commit). The hash is computed by Postgres: core
 * carries no crypto of its own.
 */
export async function recordMigration(
	tx: Driver,
	namespace: string,
	steps: readonly SchemaStep[],
	script: string,
	tool: string,
	durationMs: number,
): Promise<void> {
	const json = steps.map((s) => ({
		kind: s.kind,
		target: s.target,
		sql: s.sql,
		...(s.concurrently ? { concurrently: true } : {}),
	}));
	const query = sql`insert into ${sql.id(namespace, HISTORY_TABLE)} ("tool", "plan_hash", "steps", "duration_ms")
		values (${tool}, encode(sha256(convert_to(${script}, 'UTF8')), 'hex'), cast(${JSON.stringify(json)} as jsonb), ${Math.round(durationMs)})`.compile(
		compiler,
	);
	await tx.query(query.sql, query.parameters);
}

/** The most recent history row of `namespace`, or undefined (no table or no row). */
export async function lastMigration(driver: Driver, namespace: string): Promise<MigrationRecord | undefined> {
	const exists = await driver.query<{ t: string | null }>("select to_regclass($1)::text as t", [
		sql.id(namespace, HISTORY_TABLE).compile(compiler).sql,
	]);
	if (!exists.rows[0]?.t) return undefined;
	const query = sql`select "id"::int as "id", "applied_at" as "appliedAt", "tool", "plan_hash" as "planHash",
		"steps"::text as "steps", "duration_ms" as "durationMs"
		from ${sql.id(namespace, HISTORY_TABLE)} order by "id" desc limit 1`.compile(compiler);
	const { rows } = await driver.query<{
		id: number;
		appliedAt: Date | string;
		tool: string;
		planHash: string;
		steps: string;
		durationMs: number;
	}>(query.sql, []);
	const row = rows[0];
	if (!row) return undefined;
	return {
		id: Number(row.id),
		appliedAt: row.appliedAt instanceof Date ? row.appliedAt : new Date(row.appliedAt),
		tool: row.tool,
		planHash: row.planHash,
		steps: JSON.parse(row.steps),
		durationMs: Number(row.durationMs),
	};
}
