/**
 * Every statement the core compiles with Kysely, against a committed copy: the full schema DDL with
 * plugins, each adapter operation's statement, the stores' statements and the prune script. Kysely
 * is our SQL compiler, and an application may hold 0.28 or 0.29 (`pnpm test:matrix` runs this on
 * both): the SQL it compiles to must not change under it. A deliberate change to the SQL is
 * reviewed by updating the copy (`npx vitest run -u`).
 *
 * The tables come from Better Auth's schema, which changes between its releases (1.7.0's account
 * had an `issuer` column), so the copy is of one Better Auth release, named in its first line: on
 * another (the matrix's lowest cell) these tests say so in their names and are skipped.
 */

import { readFileSync } from "node:fs";
import type { BetterAuthOptions } from "@better-auth/core";
import { admin, jwt, organization, twoFactor, username } from "better-auth/plugins";
import { describe, expect, it } from "vitest";
import type { Driver, QueryResult } from "../src/driver/contract.js";
import {
	planFresh,
	planSql,
	postgresAdapter,
	pruneSql,
	pruneTargets,
	rateLimitStorage,
	secondaryStorage,
} from "../src/index.js";

const options: BetterAuthOptions = {
	plugins: [organization(), twoFactor(), jwt(), username(), admin()],
	advanced: { database: { generateId: "uuid" } },
};

/** Records each statement's text; answers with `rows`. It compiles nothing itself. */
function recorder(rows: Record<string, unknown>[] = []): { driver: Driver; statements: string[] } {
	const statements: string[] = [];
	const answer = { rows, rowCount: rows.length } as QueryResult<never>;
	const driver: Driver = {
		name: "recorder",
		capabilities: { transactions: true, preparedStatements: true },
		async query(sql) {
			statements.push(sql);
			return answer;
		},
		transaction: (fn) => fn(driver),
		close: async () => {},
	};
	return { driver, statements };
}

const installed: string = JSON.parse(
	readFileSync(new URL("../node_modules/better-auth/package.json", import.meta.url), "utf8"),
).version;
const header = `-- compiled by @authpg/core with Kysely for Better Auth ${installed}\n`;
const recorded = readFileSync(new URL("./fixtures/schema.sql", import.meta.url), "utf8").match(
	/Better Auth (\S+)/,
)?.[1];
const sameBetterAuth = installed === recorded;
const itOnRecorded = (title: string, fn: () => Promise<void>) =>
	it.skipIf(!sameBetterAuth)(
		sameBetterAuth ? title : `${title} (skipped: Better Auth ${installed} here, the copy is of ${recorded})`,
		fn,
	);

describe("compiled SQL", () => {
	itOnRecorded("the schema DDL is the committed one", async () => {
		const sql = planSql(
			await planFresh(options, { schema: "auth", stores: ["rateLimit", "secondaryStorage", "keyStore"] }),
		);
		await expect(header + sql).toMatchFileSnapshot("./fixtures/schema.sql");
	});

	itOnRecorded("each adapter operation's statement is the committed one", async () => {
		const { driver, statements } = recorder();
		const adapter = postgresAdapter(driver, { schema: "auth" })(options);
		const id = "00000000-0000-4000-8000-000000000001";
		const now = new Date(0);
		await adapter.create({
			model: "user",
			data: { name: "A", email: "a@example.com", emailVerified: false, createdAt: now, updatedAt: now },
		});
		await adapter.findOne({ model: "session", where: [{ field: "token", value: "t" }], join: { user: true } });
		await adapter.findOne({ model: "user", where: [{ field: "email", value: "A@x", mode: "insensitive" }] });
		await adapter.findMany({
			model: "member",
			where: [
				{ field: "organizationId", value: id },
				{ field: "role", operator: "in", value: ["owner", "admin"] },
				{ field: "userId", value: null, operator: "ne", connector: "OR" },
			],
			sortBy: { field: "createdAt", direction: "desc" },
			limit: 10,
			offset: 5,
			select: ["id", "role"],
		});
		await adapter.findMany({ model: "organization", join: { member: { limit: 3 } } });
		await adapter.findMany({ model: "user", where: [{ field: "name", operator: "contains", value: "50%" }] });
		await adapter.count({ model: "session", where: [{ field: "userId", value: id }] });
		await adapter.update({ model: "user", where: [{ field: "id", value: id }], update: { name: "B" } });
		await adapter.updateMany({
			model: "session",
			where: [{ field: "expiresAt", operator: "lt", value: now }],
			update: { ipAddress: "" },
		});
		await adapter.deleteMany({
			model: "verification",
			where: [{ field: "identifier", operator: "starts_with", value: "x" }],
		});
		await adapter.consumeOne({ model: "verification", where: [{ field: "identifier", value: "x" }] });
		await adapter.incrementOne({
			model: "twoFactor",
			where: [{ field: "userId", value: id }],
			increment: {},
			set: { secret: "s" },
		});
		await expect(header + statements.join(";\n\n")).toMatchFileSnapshot("./fixtures/adapter.sql");
	});

	itOnRecorded("the stores' statements and the prune script are the committed ones", async () => {
		const { driver, statements } = recorder([{ allowed: true, retry_after: null, value: "1" }]);
		await rateLimitStorage(driver, { schema: "auth" }).consume("k", { window: 60, max: 3 });
		const kv = secondaryStorage(driver, { schema: "auth" });
		await kv.set("k", "v", 60);
		await kv.get("k");
		await kv.getAndDelete("k");
		await kv.increment("k", 60);
		await kv.delete("k");
		statements.push(pruneSql(pruneTargets(options, { schema: "auth" })));
		await expect(header + statements.join(";\n\n")).toMatchFileSnapshot("./fixtures/stores.sql");
	});
});
