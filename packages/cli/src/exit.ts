/**
 * Exit codes, stable for CI scripts, and the error that carries one.
 */

/** Process exit codes of `authpg`. */
export const Exit = {
	/** Done; or in sync (`status`); or nothing to do. */
	ok: 0,
	/** Steps are pending, blockers exist, or a migration was refused or declined. Nothing was applied. */
	pending: 1,
	/** Bad arguments, or the auth config could not be found, loaded or used. */
	usage: 2,
	/** The database failed: no connection, or a step failed (and the transaction was rolled back). */
	database: 3,
} as const;

export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** An error the CLI reports as a message (no stack) and turns into an exit code. */
export class CliError extends Error {
	constructor(
		readonly exitCode: ExitCode,
		message: string,
	) {
		super(message);
		this.name = "CliError";
	}
}

/** A usage or config error (exit 2). */
export const usageError = (message: string) => new CliError(Exit.usage, message);
