/**
 * Better Auth's tables as a Drizzle schema, for `@better-auth/drizzle-adapter`
 * (what `npx @better-auth/cli generate` writes for Drizzle, trimmed to the
 * models this benchmark uses). The tables themselves are created once, by
 * `@authpg/pool`'s migration, and shared by every subject.
 */
import { bigint, boolean, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

const tz = { withTimezone: true } as const;

export const user = pgTable("user", {
	id: text("id").primaryKey(),
	name: text("name").notNull(),
	email: text("email").notNull().unique(),
	emailVerified: boolean("emailVerified").notNull(),
	image: text("image"),
	createdAt: timestamp("createdAt", tz).notNull(),
	updatedAt: timestamp("updatedAt", tz).notNull(),
});

export const session = pgTable("session", {
	id: text("id").primaryKey(),
	expiresAt: timestamp("expiresAt", tz).notNull(),
	token: text("token").notNull().unique(),
	createdAt: timestamp("createdAt", tz).notNull(),
	updatedAt: timestamp("updatedAt", tz).notNull(),
	ipAddress: text("ipAddress"),
	userAgent: text("userAgent"),
	userId: text("userId")
		.notNull()
		.references(() => user.id, { onDelete: "cascade" }),
});

export const account = pgTable("account", {
	id: text("id").primaryKey(),
	accountId: text("accountId").notNull(),
	providerId: text("providerId").notNull(),
	userId: text("userId")
		.notNull()
		.references(() => user.id, { onDelete: "cascade" }),
	accessToken: text("accessToken"),
	refreshToken: text("refreshToken"),
	idToken: text("idToken"),
	accessTokenExpiresAt: timestamp("accessTokenExpiresAt", tz),
	refreshTokenExpiresAt: timestamp("refreshTokenExpiresAt", tz),
	scope: text("scope"),
	password: text("password"),
	createdAt: timestamp("createdAt", tz).notNull(),
	updatedAt: timestamp("updatedAt", tz).notNull(),
});

export const verification = pgTable("verification", {
	id: text("id").primaryKey(),
	identifier: text("identifier").notNull(),
	value: text("value").notNull(),
	expiresAt: timestamp("expiresAt", tz).notNull(),
	createdAt: timestamp("createdAt", tz).notNull(),
	updatedAt: timestamp("updatedAt", tz).notNull(),
});

export const rateLimit = pgTable("rateLimit", {
	id: text("id").primaryKey(),
	key: text("key").notNull().unique(),
	count: integer("count").notNull(),
	lastRequest: bigint("lastRequest", { mode: "number" }).notNull(),
});
