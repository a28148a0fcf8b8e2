/**
 * A statement that rides on a create: `with "authpg_row" as (insert …
 * returning …), "authpg_companion" as (<companion>) select … from
 * "authpg_row"`. One statement, so the companion (an event of the auth event
 * log) commits if and only if the row does, at the cost of no extra round
 * trip — where a transaction around two statements costs four.
 *
 * Internal: the event log's wiring (`stores/event-wiring.ts`) is its one user.
 */

/** The name of the CTE holding the created row; its columns are the model's field keys. */
export const COMPANION_ROW = '"authpg_row"';

/** A statement written in the same statement as a create, reading the created row. */
export interface Companion {
	/** Identifies the companion's SQL text: part of the statement's shape key. */
	readonly key: string;
	/**
	 * The companion's SQL: a data-modifying statement (an `insert … select …
	 * from "authpg_row"`) whose parameters are numbered from `$first`.
	 */
	sql(first: number): string;
	/** Its parameter values, for `$first`, `$first + 1`, … */
	readonly values: readonly unknown[];
}

/** The adapter method (keyed by this symbol) that creates a row together with a {@link Companion}. */
export const CREATE_WITH_COMPANION: unique symbol = Symbol.for("authpg.createWithCompanion");

/** Arguments of Better Auth's `create`. */
export interface CreateArgs {
	model: string;
	data: Record<string, unknown>;
	select?: string[] | undefined;
	forceAllowId?: boolean | undefined;
}

/** An adapter that can create a row with a companion statement (every authpg adapter). */
export interface CompanionCreate {
	[CREATE_WITH_COMPANION](args: CreateArgs, companion: Companion): Promise<Record<string, unknown> | null>;
}
