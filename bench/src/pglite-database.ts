/**
 * The `@authpg/pglite` subject's database: an in-memory PGlite (Postgres
 * compiled to WASM) in this process — not the shared server. It gets the same
 * schema (migrated for the same Better Auth options) and the same rows (the
 * seed writes each chunk to it as to the server), so the operations find what
 * they look for; its figures still measure another server, which is why no
 * ratio to the floor or to Better Auth is taken for it.
 */
import { fromClient } from "@authpg/pglite";
import type { BetterAuthOptions } from "@better-auth/core";
import { PGlite } from "@electric-sql/pglite";
import type { SqlClient } from "./seed.js";

/** A migrated, empty PGlite database and an untimed client for seeding, setup and VACUUM. */
export interface PgliteDatabase {
	pglite: PGlite;
	/** Goes around any statement counting installed on `pglite` later: setup is not the subject's work. */
	admin: SqlClient;
	close(): Promise<void>;
}

/** Start PGlite and create Better Auth's schema for `options` in it, as `@authpg/pglite` migrates it. */
export async function openPgliteDatabase(options: BetterAuthOptions): Promise<PgliteDatabase> {
	const pglite = await PGlite.create();
	try {
		const migrator = fromClient(pglite);
		try {
			await migrator.migrate(options);
		} finally {
			await migrator.close();
		}
	} catch (error) {
		await pglite.close().catch(() => {});
		throw error;
	}
	const query = pglite.query.bind(pglite);
	return {
		pglite,
		admin: {
			query: (text, values) => query<Record<string, unknown>>(text, values),
			escapeIdentifier: (name) => `"${name.replaceAll('"', '""')}"`,
		},
		close: async () => {
			if (!pglite.closed) await pglite.close();
		},
	};
}
