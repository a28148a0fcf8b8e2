/**
 * Concurrent sign-ups with one email. Better Auth's sign-up runs
 * find-by-email then create in one transaction; at READ COMMITTED two
 * concurrent sign-ups with one email would both find nothing, and the loser
 * would fail on the unique index with a generic "failed to create user".
 * Inside a transaction, a lookup of a user by email first takes a
 * transaction-scoped advisory lock on the email, so the second lookup sees
 * the first user and Better Auth answers as for any existing email.
 */
import type { Where } from "@better-auth/core/db/adapter";
import { statementName } from "../compiler.js";
import type { Driver } from "../driver/contract.js";
import { toQueryError } from "../errors.js";
import type { ModelInfo } from "../model.js";

const EMAIL_LOCK = "select pg_advisory_xact_lock(hashtextextended($1, 0))";
const EMAIL_LOCK_NAME = statementName(EMAIL_LOCK);

/** The email a `findOne` on the user model looks up by equality alone, if that is what it does. */
function lookedUpEmail(model: ModelInfo, where: Where[] | undefined): string | undefined {
	if (model.key !== "user" || where?.length !== 1) return undefined;
	const [w] = where as [Where];
	if ((w.operator ?? "eq") !== "eq" || typeof w.value !== "string" || w.field !== "email") return undefined;
	return w.value;
}

/**
 * Before a `findOne` run in a transaction on `tx`: lock the email it looks up
 * (until the transaction ends), or do nothing when it is another lookup.
 */
export async function lockEmailInTransaction(
	tx: Driver,
	namespace: string,
	model: ModelInfo,
	where: Where[] | undefined,
): Promise<void> {
	const email = lookedUpEmail(model, where);
	if (email === undefined) return;
	try {
		await tx.query(EMAIL_LOCK, [`authpg:user.email:${namespace}:${email}`], { name: EMAIL_LOCK_NAME });
	} catch (error) {
		throw toQueryError("findOne", model.key, error);
	}
}
