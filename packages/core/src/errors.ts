/**
 * Typed errors. Messages name the cause and what to do next; they never carry
 * bound values (which may be secrets or personal data).
 */

/** Base class of every error authpg throws. `code` is stable for programs. */
export class AuthpgError extends Error {
	readonly code: string;
	constructor(code: string, message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = new.target.name;
		this.code = code;
	}
}

/** A model name that is not in the Better Auth schema for these options. */
export class UnknownModelError extends AuthpgError {
	constructor(model: string) {
		super(
			"UNKNOWN_MODEL",
			`Model "${model}" is not in the Better Auth schema for these options. Check the model name, or enable the plugin that defines it and run \`authpg migrate\`.`,
		);
	}
}

/** A field name that is not in the model. */
export class UnknownFieldError extends AuthpgError {
	constructor(model: string, field: string) {
		super(
			"UNKNOWN_FIELD",
			`Field "${field}" is not in model "${model}". Check the field name, or declare it in \`additionalFields\` (or the plugin schema) and run \`authpg migrate\`.`,
		);
	}
}

/** A value or argument the adapter cannot turn into SQL. */
export class InvalidValueError extends AuthpgError {
	constructor(message: string) {
		super("INVALID_VALUE", message);
	}
}

/**
 * A statement failed in Postgres (or the connection did). Carries the
 * Postgres SQLSTATE when there is one; the driver error is the `cause`.
 */
export class QueryError extends AuthpgError {
	/** Postgres SQLSTATE (e.g. `23505` unique violation), when known. */
	readonly sqlState: string | undefined;
	constructor(operation: string, model: string, cause: unknown) {
		const sqlState = sqlStateOf(cause);
		const detail = cause instanceof Error ? cause.message : String(cause);
		super("QUERY_FAILED", `${operation} on "${model}" failed: ${detail}${sqlState ? ` (SQLSTATE ${sqlState})` : ""}`, {
			cause,
		});
		this.sqlState = sqlState;
	}
}

function sqlStateOf(error: unknown): string | undefined {
	const code = (error as { code?: unknown } | null)?.code;
	return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
