/**
 * The one place that decides whether an error means a connection is gone:
 * every driver discards (or stops using) a connection on these rules, and
 * `toQueryError` reports them as `ConnectionError`. Duck-typed across
 * drivers (pg, postgres.js, Neon, PGlite, sockets): an application's driver
 * may be another copy than the one a driver package was built against.
 */

/** Connection exceptions (class 08), shutdowns and session-ending timeouts, too many clients. */
const CONNECTION_STATES = /^(08...|57P0[1-5]|53300|25P03)$/;
/** postgres.js's codes for a connection that is gone. */
const DRIVER_CODES = new Set(["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECTION_ENDED", "CONNECT_TIMEOUT"]);
/** A socket error as Node reports it (`ECONNRESET`, `EPIPE`, `ETIMEDOUT`, …). */
const SOCKET_CODE = /^E[A-Z]+$/;
/** pg reports a lost or unopenable connection with messages only. */
const CONNECTION_MESSAGES =
	/^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)|not queryable/;

/** Whether `error` itself (not what it wraps) says its connection is gone. */
function isLoss(error: object): boolean {
	const { code, severity } = error as { code?: unknown; severity?: unknown };
	if (severity === "FATAL" || severity === "PANIC") return true;
	// Any other error the server reports is about one statement: the session goes on (08P01 from a bad Bind, say).
	if (typeof severity === "string") return false;
	if (typeof code === "string" && (DRIVER_CODES.has(code) || CONNECTION_STATES.test(code) || SOCKET_CODE.test(code))) {
		return true;
	}
	return error instanceof Error && CONNECTION_MESSAGES.test(error.message);
}

/**
 * Whether `error` (or an error it wraps) says the connection is unusable:
 * it could not be opened, or it was lost.
 */
export function isConnectionError(error: unknown): boolean {
	return findError(error, isLoss) !== undefined;
}

/**
 * Whether a connection is still usable after `error`: true for an error the
 * server reported for one statement (the session then waits for the next),
 * false for a lost socket, a timeout, a session-ending (FATAL) error, or
 * anything unknown.
 */
export function isStatementError(error: unknown): boolean {
	if (typeof error !== "object" || error === null) return false;
	const { severity, code } = error as { severity?: unknown; code?: unknown };
	return typeof code === "string" && typeof severity === "string" && !isLoss(error);
}

/** `error` or the first error in its `cause` chain (or `errors` list) that `test` accepts. */
export function findError(error: unknown, test: (error: object) => boolean, depth = 0): object | undefined {
	if (typeof error !== "object" || error === null || depth > 4) return undefined;
	if (test(error)) return error;
	const { cause, errors } = error as { cause?: unknown; errors?: unknown };
	const inCause = findError(cause, test, depth + 1);
	if (inCause) return inCause;
	if (Array.isArray(errors)) {
		for (const inner of errors) {
			const found = findError(inner, test, depth + 1);
			if (found) return found;
		}
	}
	return undefined;
}
