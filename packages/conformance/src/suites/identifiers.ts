import { type Driver, planMigrations, postgresAdapter, pruneSql, pruneTargets } from "@authpg/core";
import type { BetterAuthOptions } from "better-auth";
import { betterAuth } from "better-auth";
import { beforeAll, describe, expect, it } from "vitest";
import { freshAdapter, user } from "./fixture.js";

const NS = "authpg_identifiers";

/**
 * Custom model and field names that are hostile as SQL: quotes, spaces, `;`,
 * comment markers and upper case. Each must be one quoted identifier.
 */
const USER_TABLE = 'Us"er; DROP TABLE sentinel; --';
// `$q$` and `$authpg$`: the tags the scheduled prune script would dollar-quote its statements with.
const SESSION_TABLE = "Sess ion's $q$ $authpg$";
const names = {
	user: {
		modelName: USER_TABLE,
		fields: { name: 'Full "Name"', email: "E-Mail; x", emailVerified: "Verified?", createdAt: "CREATED at" },
	},
	session: {
		modelName: SESSION_TABLE,
		fields: { userId: 'User "Id"', token: "token; select 1", expiresAt: "Expires At" },
	},
	account: { modelName: "ACCOUNT", fields: { userId: "UserID", accountId: "a'ccount" } },
	verification: { modelName: "Veri\\fication", fields: { identifier: "$1", value: "?" } },
} satisfies BetterAuthOptions;

/** Hostile custom names are quoted end to end: migrate, create, find, join, Better Auth's own flows. */
export function identifiersSuite(driver: () => Driver) {
	describe("hostile identifiers (custom model and field names)", () => {
		let adapter: Awaited<ReturnType<typeof freshAdapter>>;
		beforeAll(async () => {
			adapter = await freshAdapter(driver(), NS, names);
			await driver().query(`create table ${NS}.sentinel (id int)`, []);
		});

		it("migrate creates tables and columns with exactly these names, and then plans nothing more", async () => {
			const { rows } = await driver().query<{ table: string; column: string }>(
				`select c.relname as "table", a.attname as "column" from pg_catalog.pg_attribute a
				   join pg_catalog.pg_class c on c.oid = a.attrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
				  where n.nspname = $1 and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped`,
				[NS],
			);
			const columns = (table: string) => rows.filter((r) => r.table === table).map((r) => r.column);
			expect(columns(USER_TABLE)).toEqual(
				expect.arrayContaining(["id", 'Full "Name"', "E-Mail; x", "Verified?", "CREATED at", "image"]),
			);
			expect(columns(SESSION_TABLE)).toEqual(expect.arrayContaining(['User "Id"', "token; select 1", "Expires At"]));
			expect(columns("ACCOUNT")).toEqual(expect.arrayContaining(["UserID", "a'ccount"]));
			expect(columns("Veri\\fication")).toEqual(expect.arrayContaining(["$1", "?"]));
			const plan = await planMigrations(driver(), names, { schema: NS });
			expect(plan.steps).toEqual([]);
			expect(plan.blockers).toEqual([]);
		});

		it("create, find, where operators, sort, update, join, count and delete work on them; nothing is injected", async () => {
			const created = await adapter.create<{ id: string; name: string; email: string }>({
				model: "user",
				data: user({ name: "Robert'); --", email: "bobby@example.com" }),
			});
			expect(created).toMatchObject({ name: "Robert'); --", email: "bobby@example.com", emailVerified: false });
			for (let i = 0; i < 2; i++) {
				await adapter.create({
					model: "session",
					data: {
						userId: created.id,
						token: `tok'${i}"; --`,
						expiresAt: new Date(Date.now() + 60_000),
						createdAt: new Date(),
						updatedAt: new Date(),
					},
				});
			}
			const found = await adapter.findOne<{ id: string }>({
				model: "user",
				where: [
					{ field: "email", value: "BOBBY@example.com", mode: "insensitive" },
					{ field: "name", operator: "contains", value: "'); --" },
				],
			});
			expect(found?.id).toBe(created.id);
			const session = await adapter.findOne<{ token: string; user: { email: string } }>({
				model: "session",
				where: [{ field: "token", value: `tok'1"; --` }],
				join: { user: true },
			});
			expect(session?.user.email).toBe("bobby@example.com");
			const withSessions = await adapter.findOne<{ session: { token: string }[] }>({
				model: "user",
				where: [{ field: "id", value: created.id }],
				join: { session: true },
			});
			expect(withSessions?.session.map((s) => s.token).sort()).toEqual([`tok'0"; --`, `tok'1"; --`]);
			const sorted = await adapter.findMany<{ token: string }>({
				model: "session",
				where: [{ field: "userId", value: created.id }],
				sortBy: { field: "token", direction: "desc" },
				select: ["token"],
			});
			expect(sorted.map((s) => s.token)).toEqual([`tok'1"; --`, `tok'0"; --`]);
			expect(
				await adapter.update<{ name: string }>({
					model: "user",
					where: [{ field: "id", value: created.id }],
					update: { name: "renamed", emailVerified: true },
				}),
			).toMatchObject({ name: "renamed", emailVerified: true });
			expect(await adapter.count({ model: "session", where: [{ field: "userId", value: created.id }] })).toBe(2);
			await adapter.delete({ model: "user", where: [{ field: "id", value: created.id }] });
			// Sessions go with their user: the foreign key, named after the hostile names, cascades.
			expect(await adapter.count({ model: "session" })).toBe(0);
			const sentinel = await driver().query(`select to_regclass($1) as "exists"`, [`${NS}.sentinel`]);
			expect(sentinel.rows[0]).toEqual({ exists: `${NS}.sentinel` });
		});

		it("the scheduled prune script (pg_cron's) runs on these names and deletes only the expired sessions", async () => {
			const created = await adapter.create<{ id: string }>({
				model: "user",
				data: user({ email: "prune@example.com" }),
			});
			for (const [token, offset] of [
				["expired", -60_000],
				["live", 60_000],
			] as const) {
				await adapter.create({
					model: "session",
					data: {
						userId: created.id,
						token,
						expiresAt: new Date(Date.now() + offset),
						createdAt: new Date(),
						updatedAt: new Date(),
					},
				});
			}
			await driver().query(pruneSql(pruneTargets(names, { schema: NS })), []);
			const left = await adapter.findMany<{ token: string }>({
				model: "session",
				where: [{ field: "userId", value: created.id }],
			});
			expect(left.map((s) => s.token)).toEqual(["live"]);
			await adapter.delete({ model: "user", where: [{ field: "id", value: created.id }] });
		});

		it("Better Auth signs up, signs in and reads the session through these tables", async () => {
			const auth = betterAuth({
				...names,
				database: postgresAdapter(driver(), { schema: NS }),
				baseURL: "http://localhost:3000",
				secret: "authpg-conformance-secret-0123456789abcdef",
				emailAndPassword: { enabled: true },
				rateLimit: { enabled: false },
			});
			await auth.api.signUpEmail({
				body: { email: "quoted@example.com", password: "correct horse battery", name: "Q" },
			});
			const { headers } = await auth.api.signInEmail({
				body: { email: "quoted@example.com", password: "correct horse battery" },
				returnHeaders: true,
			});
			const cookie = headers
				.getSetCookie()
				.map((c) => c.split(";")[0])
				.join("; ");
			const session = await auth.api.getSession({ headers: new Headers({ cookie }) });
			expect(session?.user.email).toBe("quoted@example.com");
			const { rows } = await driver().query<{ n: string }>(
				`select count(*) as n from ${NS}."Sess ion's $q$ $authpg$" s join ${NS}."Us""er; DROP TABLE sentinel; --" u on u.id = s."User ""Id"""
				  where u."E-Mail; x" = $1`,
				["quoted@example.com"],
			);
			expect(Number(rows[0]?.n)).toBe(2);
		});
	});
}
