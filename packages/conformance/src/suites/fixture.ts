import { applyMigrations, type Driver, postgresAdapter } from "@authpg/core";
import type { BetterAuthOptions } from "better-auth";

/** Test namespaces are constants of the suites; checked so they can be spelled into DDL. */
const NAMESPACE = /^[a-z_][a-z0-9_]*$/;

/** Drop and re-create `namespace` with the Better Auth schema for `options`; return an adapter on it. */
export async function freshAdapter(driver: Driver, namespace: string, options: BetterAuthOptions = {}) {
	if (!NAMESPACE.test(namespace)) throw new Error(`bad test namespace ${namespace}`);
	await driver.query(`drop schema if exists ${namespace} cascade`, []);
	await applyMigrations(driver, options, { schema: namespace });
	return postgresAdapter(driver, { schema: namespace })(options);
}

/** A plugin schema with one extra model, for suites that need their own fields. */
export function pluginWith(model: string, fields: Record<string, unknown>): BetterAuthOptions {
	return { plugins: [{ id: `authpg-test-${model}`, schema: { [model]: { fields } } } as never] };
}

let seq = 0;
/** A user row with a unique email. */
export function user(overrides: Record<string, unknown> = {}) {
	seq++;
	return {
		name: `user ${seq}`,
		email: `user-${seq}-${Math.random().toString(36).slice(2)}@example.com`,
		emailVerified: false,
		createdAt: new Date(),
		updatedAt: new Date(),
		...overrides,
	};
}
