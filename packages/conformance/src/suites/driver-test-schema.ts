/**
 * `driverTestSchema`: the setup a driver package's own tests share: a test
 * database of the file's own, a pg admin client on it, and a schema with an
 * `items` table (plus any the file asks for), emptied before each test.
 */
import pg from "pg";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { startTestDatabase, type TestDatabase } from "../harness/database.js";

/** Options for {@link driverTestSchema}. */
export interface DriverTestSchemaOptions {
	/** Readable part of the database name (see `startTestDatabase`). */
	prefix: string;
	/** The schema created for the file's tables; a plain identifier. */
	schema: string;
	/**
	 * Tables to create in the schema, name → column definitions. Defaults to
	 * `items (id serial primary key, label text not null unique)`; a file that
	 * passes its own keeps an `items` table with a `label` column for {@link DriverTestSchema.labels}.
	 */
	tables?: Record<string, string>;
}

/** What {@link driverTestSchema} hands back; its members are usable once the file's `beforeAll` hooks ran. */
export interface DriverTestSchema {
	/** The test database's URL. */
	readonly url: string;
	/** A pg client on the database, for checks that must not go through the driver under test. */
	readonly admin: pg.Client;
	/** The schema-qualified, quoted name of the `items` table. */
	readonly items: string;
	/** The `label` of every row of `items`, in insertion (id) order, read through {@link admin}. */
	labels(): Promise<string[]>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const ITEMS = "id serial primary key, label text not null unique";

/**
 * Register, at the top level of a test file, the hooks that start a test
 * database, connect an admin client, create `schema` and its tables, and empty
 * them (restarting identities) before each test; the database is dropped after
 * the file.
 *
 * @example
 * const db = driverTestSchema({ prefix: "pool", schema: "authpg_pool" });
 * it("…", async () => { const driver = createDriver(db.url); … expect(await db.labels()).toEqual([]); });
 */
export function driverTestSchema(options: DriverTestSchemaOptions): DriverTestSchema {
	const { schema } = options;
	const tables = options.tables ?? { items: ITEMS };
	for (const name of [schema, ...Object.keys(tables)]) {
		// Spelled into DDL below: only the constants of a test file belong here.
		if (!IDENTIFIER.test(name)) throw new Error(`driverTestSchema: ${name} is not a plain lower-case identifier`);
	}
	const qualified = Object.keys(tables).map((name) => `"${schema}"."${name}"`);
	let database: TestDatabase | undefined;
	let admin: pg.Client | undefined;

	beforeAll(async () => {
		database = await startTestDatabase({ prefix: options.prefix });
		admin = new pg.Client({ connectionString: database.url });
		// A backend a test terminates must surface as a rejected query, not crash the worker.
		admin.on("error", () => {});
		await admin.connect();
		await admin.query(`create schema "${schema}"`);
		for (const [name, columns] of Object.entries(tables)) {
			await admin.query(`create table "${schema}"."${name}" (${columns})`);
		}
	});

	afterAll(async () => {
		await admin?.end();
		await database?.close();
	});

	beforeEach(async () => {
		await ready().admin.query(`truncate ${qualified.join(", ")} restart identity`);
	});

	function ready(): { database: TestDatabase; admin: pg.Client } {
		if (!database || !admin) throw new Error("driverTestSchema: used before its beforeAll hook ran");
		return { database, admin };
	}

	const items = `"${schema}".items`;
	return {
		get url() {
			return ready().database.url;
		},
		get admin() {
			return ready().admin;
		},
		items,
		async labels() {
			const { rows } = await ready().admin.query<{ label: string }>(`select label from ${items} order by id`);
			return rows.map((row) => row.label);
		},
	};
}
