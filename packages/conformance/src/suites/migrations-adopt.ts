import {
	applyMigrations,
	HISTORY_TABLE,
	introspect,
	kyselyDialect,
	type LiveSchema,
	planMigrations,
	postgresAdapter,
} from "@authpg/core";
import type { BetterAuthOptions } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { organization } from "better-auth/plugins";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { user } from "./fixture.js";
import type { SuiteContext } from "./index.js";
import { arraysPlugin, NS, reset } from "./migrations-fixture.js";

/** Option sets compared with Better Auth's own migrator. */
const paritySets: Record<string, BetterAuthOptions> = {
	default: {},
	serial: { advanced: { database: { generateId: "serial" } } },
	uuid: { advanced: { database: { generateId: "uuid" } } },
	"plugin with references, unique, index and arrays": arraysPlugin,
	"organization plugin, renamed fields and additional fields": {
		plugins: [organization()],
		user: { fields: { email: "email_address" }, additionalFields: { age: { type: "number", required: false } } },
		session: { modelName: "sessions" },
	},
};

/** Better Auth's own migrator on `namespace` (it follows the connection's search_path). */
async function betterAuthMigrate({ url, driver }: SuiteContext, namespace: string, options: BetterAuthOptions) {
	if (url === undefined) {
		// A single session has no URL to open a pool on: Better Auth migrates through the session itself, via our Kysely dialect.
		await driver().query(`set search_path to ${namespace}`, []);
		try {
			const dialect = kyselyDialect(driver());
			const { runMigrations } = await getMigrations({ ...options, database: { dialect, type: "postgres" } });
			await runMigrations();
		} finally {
			await driver().query("reset search_path", []);
		}
		return;
	}
	const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${namespace}`, max: 2 });
	try {
		const { runMigrations } = await getMigrations({ ...options, database: pool });
		await runMigrations();
	} finally {
		await pool.end();
	}
}

/** The shape of a schema, names aside: what parity compares. */
function shape(live: LiveSchema, arraysAsJsonb: boolean) {
	const tables: Record<string, unknown> = {};
	for (const [name, table] of live.tables) {
		// Our migration history: Better Auth's migrator keeps none.
		if (name === HISTORY_TABLE) continue;
		const columns: Record<string, string> = {};
		for (const [column, c] of table.columns) {
			const type = arraysAsJsonb && (c.type === "text[]" || c.type === "bigint[]") ? "jsonb" : c.type;
			columns[column] = `${type}${c.nullable ? "" : " not null"}`;
		}
		const indexes = [...live.indexes.values()]
			.filter((i) => i.table === name && !i.primary)
			.map((i) => `${i.unique ? "unique " : ""}(${i.columns.join(",")})`)
			.sort();
		const foreignKeys = live.foreignKeys
			.filter((f) => f.table === name)
			.map((f) => `(${f.columns.join(",")}) -> ${f.refTable}(${f.refColumns.join(",")}) on delete ${f.onDelete}`)
			.sort();
		tables[name] = { columns, indexes, foreignKeys };
	}
	return tables;
}

/** Adoption: parity with Better Auth's own migrator, and taking over (and converting) a database it migrated. */
export function migrationAdoptionSuite(context: SuiteContext) {
	const { driver } = context;
	describe("migrations", () => {
		describe("parity with Better Auth's migrator", () => {
			for (const [label, options] of Object.entries(paritySets)) {
				it(label, async () => {
					const theirs = `${NS}_ba`;
					await reset(driver(), NS, theirs);
					await driver().query(`create schema ${theirs}`, []);
					await betterAuthMigrate(context, theirs, options);
					await applyMigrations(driver(), options, { schema: NS });
					expect(shape(await introspect(driver(), NS), true)).toEqual(shape(await introspect(driver(), theirs), false));
					// Adopting theirs: nothing to change, nothing refused.
					const adopt = await planMigrations(driver(), options, { schema: theirs });
					expect(adopt.blockers).toEqual([]);
					expect(adopt.steps).toEqual([]);
				});
			}
		});

		it("adopts a Better-Auth-migrated database: works unchanged, then converts jsonb arrays keeping every value", async () => {
			const theirs = `${NS}_ba`;
			await reset(driver(), theirs);
			await driver().query(`create schema ${theirs}`, []);
			await betterAuthMigrate(context, theirs, arraysPlugin);
			const adapter = postgresAdapter(driver(), { schema: theirs })(arraysPlugin);
			const owner = await adapter.create<{ id: string }>({ model: "user", data: user() });
			const tags = ["a,b", 'q"uote', "", "NULL", "😀"];
			const bag = await adapter.create<{ id: string; tags: string[]; scores: number[] }>({
				model: "bag",
				data: { tags, scores: [1, 2 ** 40], ownerId: owner.id, code: "c1" } as never,
			});
			expect(bag.tags).toEqual(tags);
			expect(bag.scores).toEqual([1, 2 ** 40]);
			const plan = await planMigrations(driver(), arraysPlugin, { schema: theirs });
			expect(plan.steps).toEqual([]);
			expect(plan.warnings.join("\n")).toMatch(/bag\.tags.*jsonb array.*--convert-arrays/);
			const converted = await applyMigrations(driver(), arraysPlugin, { schema: theirs, convertArrays: true });
			expect(
				converted.steps
					.filter((s) => s.kind === "convertArrayColumn")
					.map((s) => s.target)
					.sort(),
			).toEqual(["bag.scores", "bag.tags"]);
			const live = await introspect(driver(), theirs);
			expect(live.tables.get("bag")?.columns.get("tags")?.type).toBe("text[]");
			const fresh = postgresAdapter(driver(), { schema: theirs })(arraysPlugin);
			const after = await fresh.findOne<{ tags: string[]; scores: number[] }>({
				model: "bag",
				where: [{ field: "id", value: bag.id }],
			});
			expect(after?.tags).toEqual(tags);
			expect(after?.scores).toEqual([1, 2 ** 40]);
			await reset(driver(), theirs);
		});
	});
}
