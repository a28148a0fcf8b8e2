/**
 * Typed errors. Messages name the cause and what to do next; they never carry
 * bound values (which may be secrets or personal data).
 */
import { findError as find, isConnectionError } from "./driver/connection-loss.js";

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
 * {@link toQueryError} picks the subclass that says what happened:
 * {@link ConnectionError}, {@link QueryTimeoutError},
 * {@link PreparedStatementError}.
 */
export class QueryError extends AuthpgError {
	/** Postgres SQLSTATE (e.g. `23505` unique violation), when known. */
	readonly sqlState: string | undefined;
	/**
	 * @param operation What was being done, e.g. `"findOne"`.
	 * @param model The model (or table) it was done on, when there is one.
	 * @param cause The driver's error.
	 * @param advice For subclasses: their `code`, and a sentence on what it means and what to do.
	 */
	constructor(operation: string, model: string | undefined, cause: unknown, advice?: { code: string; hint: string }) {
		const found = find(cause, (e) => sqlStateOf(e) !== undefined);
		const sqlState = found ? sqlStateOf(found) : undefined;
		const detail = found && found !== cause ? `${describe(cause)}: ${describe(found)}` : describe(cause);
		const subject = model === undefined ? operation : `${operation} on "${model}"`;
		super(
			advice?.code ?? "QUERY_FAILED",
			`${subject} failed: ${detail}${sqlState ? ` (SQLSTATE ${sqlState})` : ""}${advice ? `. ${advice.hint}` : ""}`,
			{ cause },
		);
		this.sqlState = sqlState;
	}
}

/**
 * The connection to Postgres could not be opened, or was lost while the
 * statement ran (the server restarted, the backend was terminated, the
 * network dropped). A transaction on it was rolled back by the server; a
 * single statement may or may not have taken effect. The driver opens a new
 * connection for the next call, so retrying is safe for idempotent work.
 */
export class ConnectionError extends QueryError {
	constructor(operation: string, model: string | undefined, cause: unknown) {
		super(operation, model, cause, {
			code: "CONNECTION_FAILED",
			hint: "The database connection could not be opened or was lost (a transaction open on it was rolled back); the next call opens a new one. Check that Postgres is up and reachable.",
		});
	}
}

/**
 * The statement was cancelled because it ran longer than allowed: the
 * server's `statement_timeout` (nothing it did was kept), or the driver's
 * client-side query timeout (the statement may still have run).
 */
export class QueryTimeoutError extends QueryError {
	constructor(operation: string, model: string | undefined, cause: unknown, clientSide: boolean) {
		super(operation, model, cause, {
			code: "QUERY_TIMEOUT",
			hint: clientSide
				? "The driver's query timeout gave up waiting; the statement may still have run on the server, and the connection was discarded."
				: "It ran longer than the session's statement_timeout and was cancelled; none of its changes were kept. Raise statement_timeout, or find what held it up (often a lock held by a long transaction).",
		});
	}
}

/**
 * A server-side prepared statement was not where the driver left it
 * (`prepared statement "…" does not exist`, or `already exists`). This is
 * what a pooler in transaction mode (PgBouncer, Supavisor) does to prepared
 * statements: each transaction may run on another server connection.
 */
export class PreparedStatementError extends QueryError {
	constructor(operation: string, model: string | undefined, cause: unknown) {
		super(operation, model, cause, {
			code: "PREPARED_STATEMENT_LOST",
			hint: "The session's prepared statements are not where the driver left them, which is what a pooler in transaction mode (PgBouncer, Supavisor) does. Pass `preparedStatements: false` to createStores (or the driver) when connecting through such a pooler.",
		});
	}
}

/**
 * The typed error for `cause`, a driver's error from `operation` on `model`:
 * a {@link ConnectionError}, {@link QueryTimeoutError} or
 * {@link PreparedStatementError} when it is one of those, else a plain
 * {@link QueryError}. An authpg error passes through unchanged.
 */
export function toQueryError(operation: string, model: string | undefined, cause: unknown): AuthpgError {
	if (cause instanceof AuthpgError) return cause;
	if (find(cause, isPreparedStatementLoss)) return new PreparedStatementError(operation, model, cause);
	const timeout = find(cause, isTimeout);
	if (timeout) return new QueryTimeoutError(operation, model, cause, sqlStateOf(timeout) === undefined);
	if (isConnectionError(cause)) return new ConnectionError(operation, model, cause);
	return new QueryError(operation, model, cause);
}

function isTimeout(error: object): boolean {
	const message = error instanceof Error ? error.message : "";
	const code = (error as { code?: unknown }).code;
	// 57014 is also a cancel on request; only the statement_timeout one is a timeout.
	if (code === "57014") return /statement timeout/.test(message);
	return code === undefined && /^Query read timeout$/.test(message);
}

function isPreparedStatementLoss(error: object): boolean {
	const code = (error as { code?: unknown }).code;
	const message = error instanceof Error ? error.message : "";
	return (code === "26000" || code === "42P05") && /prepared statement/.test(message);
}

function describe(error: unknown): string {
	if (typeof error !== "object" || error === null) return String(error);
	const { message, code, errors, name } = error as {
		message?: unknown;
		code?: unknown;
		errors?: unknown;
		name?: unknown;
	};
	if (typeof message === "string" && message !== "") return message;
	// Node reports a refused connection to every address of a host as an AggregateError without a message.
	if (Array.isArray(errors) && errors.length > 0) return errors.map(describe).join("; ");
	if (typeof code === "string") return code;
	return typeof name === "string" ? name : String(error);
}

function sqlStateOf(error: unknown): string | undefined {
	if (typeof error !== "object" || error === null) return undefined;
	const { code, syscall } = error as { code?: unknown; syscall?: unknown };
	// A socket error's code (EPIPE) has the shape of a SQLSTATE; it comes with the system call that failed.
	return typeof code === "string" && syscall === undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * A sealed field's stored value does not open: it was altered, copied from
 * another row or column, or sealed under a key this key store does not hold
 * (another vault, a lost key). Names the model, field and row id, never the
 * value or a key.
 */
export class SealedFieldError extends AuthpgError {
	/** The Better Auth model. */
	readonly model: string;
	/** The field. */
	readonly field: string;
	/** The row id whose value did not open. */
	readonly rowId: string;
	constructor(model: string, field: string, rowId: string) {
		super(
			"SEALED_FIELD",
			`The sealed value of "${model}.${field}" in row "${rowId}" does not open: it was altered, copied from another row or column, or sealed under a key this key store does not hold (another vault or keystore password). Restore the row from a backup, or clear the field.`,
		);
		this.model = model;
		this.field = field;
		this.rowId = rowId;
	}
}

/**
 * A query filters or sorts on a sealed field (or uses an operator other than
 * equality on a hashed one): its stored values are ciphertexts, so the query
 * could only miss. Thrown instead of a silent miss.
 */
export class SealedFieldQueryError extends AuthpgError {
	constructor(model: string, field: string, what: string) {
		super(
			"SEALED_FIELD_QUERY",
			`"${model}.${field}" is stored ${what}, so this query cannot run on it. Query by another field (e.g. the id), or leave the field out of \`seal\`.`,
		);
	}
}

/** The `seal` option cannot be honoured as given (names the option, never a key or password). */
export class SealedFieldConfigError extends AuthpgError {
	constructor(message: string) {
		super("SEALED_FIELD_CONFIG", message);
	}
}
