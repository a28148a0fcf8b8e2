import type { BetterAuthOptions } from "@better-auth/core";
import { describe, expect, it } from "vitest";
import { nestFlatJoins, resolveJoins } from "../src/adapter/join.js";
import { StatementCache } from "../src/adapter/statement-cache.js";
import { buildSelect } from "../src/adapter/statements.js";
import { type Condition, normalizeWhere } from "../src/adapter/where.js";
import { statementName } from "../src/compiler.js";
import { compileSchema } from "../src/model.js";

const options: BetterAuthOptions = {};
const schema = compileSchema(options, { schema: "auth" });
const user = schema.model("user");
const session = schema.model("session");

function where(model = user, input: Parameters<typeof normalizeWhere>[2] = []) {
	const values: unknown[] = [];
	const conditions: Condition[] = [];
	const key = normalizeWhere(model, schema.idKind, input, values, conditions);
	return { values, conditions, key };
}

describe("statements", () => {
	it("compiles in/not_in to one array parameter whatever the list length", () => {
		const a = where(user, [{ field: "name", operator: "in", value: ["a"] }]);
		const b = where(user, [{ field: "name", operator: "in", value: ["a", "b", "c"] }]);
		const empty = where(user, [{ field: "name", operator: "not_in", value: [] }]);
		expect(a.key).toBe(b.key);
		const stmt = buildSelect("auth", {
			model: user,
			where: a.conditions,
			fields: user.fields,
			joins: [],
			limit: "one",
		});
		expect(stmt.sql).toContain('"user"."name" = any($1)');
		expect(b.values).toEqual([["a", "b", "c"]]);
		const notIn = buildSelect("auth", {
			model: user,
			where: empty.conditions,
			fields: user.fields,
			joins: [],
			limit: "one",
		});
		expect(notIn.sql).toContain('"user"."name" <> all($1)');
		expect(empty.values).toEqual([[]]);
	});

	it("makes null part of the shape: eq null is IS NULL with no parameter", () => {
		const isNull = where(user, [{ field: "image", value: null }]);
		const notNull = where(user, [{ field: "image", operator: "ne", value: null }]);
		const value = where(user, [{ field: "image", value: "x" }]);
		expect(new Set([isNull.key, notNull.key, value.key]).size).toBe(3);
		expect(isNull.values).toEqual([]);
		const stmt = buildSelect("auth", {
			model: user,
			where: isNull.conditions,
			fields: user.fields,
			joins: [],
			limit: "one",
		});
		expect(stmt.sql).toContain('"user"."image" is null');
		expect(stmt.plan).toEqual([]);
	});

	it("escapes LIKE metacharacters so they match literally", () => {
		const w = where(user, [{ field: "name", operator: "contains", value: "50%_\\x" }]);
		expect(w.values).toEqual(["%50\\%\\_\\\\x%"]);
	});

	it("combines the AND group with the OR group as (all AND) AND (any OR)", () => {
		const w = where(user, [
			{ field: "emailVerified", value: true },
			{ field: "name", value: "a", connector: "OR" },
			{ field: "name", value: "b", connector: "OR" },
		]);
		const stmt = buildSelect("auth", {
			model: user,
			where: w.conditions,
			fields: user.fields,
			joins: [],
			limit: "one",
		});
		expect(stmt.sql).toMatch(
			/where "user"\."emailVerified" = \$1 and \("user"\."name" = \$2 or "user"\."name" = \$3\)/,
		);
	});

	it("maps parameters by marker, not by position, with the join in the same statement", () => {
		const w = where(session, [{ field: "token", value: "t" }]);
		const joins = resolveJoins(schema, session, { user: true });
		const values = [...w.values, 10, 5];
		const stmt = buildSelect("auth", {
			model: session,
			where: w.conditions,
			fields: session.fields,
			joins: joins.joins,
			limit: { slot: 1 },
			offset: 2,
		});
		// On the user's id: a left join, the user's columns beside the session's.
		expect(stmt.sql).toContain('from "auth"."session" left join "auth"."user" on "user"."id" = "session"."userId"');
		expect(stmt.sql).toContain('"user"."email" as "user.email"');
		expect(stmt.sql.match(/select/g)?.length).toBe(1);
		expect(stmt.plan.map((slot) => values[slot])).toEqual(["t", 10, 5]);
		expect(stmt.sql).not.toContain("*");
	});

	it("reads a one-to-many join as a sub-select, and puts a flat join's columns back into one object", () => {
		const sessions = resolveJoins(schema, user, { session: { limit: 3 } });
		expect(sessions.flat).toBeUndefined();
		const w = where(user, [{ field: "email", value: "a@b.c" }]);
		const stmt = buildSelect("auth", {
			model: user,
			where: w.conditions,
			fields: user.fields,
			joins: sessions.joins,
			limit: "one",
		});
		expect(stmt.sql).toContain("json_agg");
		expect(stmt.sql).toContain("limit 3");

		const withUser = resolveJoins(schema, session, { user: true });
		const at = new Date();
		const row = { id: "s1", token: "t", "user.id": "u1", "user.email": "a@b.c", "user.createdAt": at };
		expect(nestFlatJoins(row, withUser)).toEqual({
			id: "s1",
			token: "t",
			user: { id: "u1", email: "a@b.c", createdAt: at },
		});
		// The left join found no user: every user column is null.
		expect(nestFlatJoins({ id: "s2", "user.id": null, "user.email": null }, withUser)).toEqual({
			id: "s2",
			user: null,
		});
	});

	it("keeps findOne's limit as a constant", () => {
		const w = where(session, [{ field: "token", value: "t" }]);
		const stmt = buildSelect("auth", {
			model: session,
			where: w.conditions,
			fields: session.fields,
			joins: [],
			limit: "one",
		});
		expect(stmt.sql).toMatch(/limit 1$/);
		expect(stmt.plan).toEqual([0]);
	});

	it("names statements from the SQL and the schema, and caches by shape", () => {
		expect(statementName("select 1")).toBe(statementName("select 1"));
		expect(statementName("select 1")).not.toBe(statementName("select 2"));
		expect(statementName("select 1")).toMatch(/^authpg_[0-9a-z]+$/);
		let builds = 0;
		const cache = StatementCache.for(schema.fingerprint);
		const build = () => {
			builds++;
			return { sql: "select 1", name: "", plan: [] };
		};
		const first = cache.get("k-test", build);
		const second = cache.get("k-test", build);
		expect(builds).toBe(1);
		expect(second).toBe(first);
		const serial = compileSchema({ advanced: { database: { generateId: "serial" } } }, { schema: "auth" });
		const other = StatementCache.for(serial.fingerprint).get("k-test", build);
		expect(other.name).not.toBe(first.name);
	});

	it("resolves custom model and field names as Better Auth does", () => {
		const custom = compileSchema(
			{ user: { modelName: "users", fields: { email: "email_address" } } },
			{ usePlural: false },
		);
		const model = custom.model("users");
		expect(model.key).toBe("user");
		expect(custom.model("user")).toBe(model);
		expect(model.field("email").column).toBe("email_address");
		expect(model.field("email_address").key).toBe("email");
		expect(() => custom.model("nope")).toThrow(/Model "nope"/);
		expect(() => model.field("nope")).toThrow(/Field "nope"/);
	});
});
