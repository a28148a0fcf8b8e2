import { PGlite, type PGliteOptions } from "@electric-sql/pglite";

let template: Promise<File | Blob> | undefined;

/**
 * A fresh in-memory PGlite. The first one runs initdb (seconds); the rest load
 * a dump of it (about a second), so a test file can afford one per test.
 */
export async function freshPglite(options: Omit<PGliteOptions, "loadDataDir" | "dataDir"> = {}): Promise<PGlite> {
	template ??= PGlite.create().then(async (db) => {
		const dump = await db.dumpDataDir("none");
		await db.close();
		return dump;
	});
	return PGlite.create({ ...options, loadDataDir: await template });
}
