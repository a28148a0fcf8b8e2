// The Better Auth config of the packaging test's scratch app, as the root README's two-minute
// path writes it: `npx authpg plan` / `migrate` load this file, and smoke.ts imports it.
import { createStores } from "@authpg/pool";
import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";

export const stores = createStores({
	connectionString: process.env.DATABASE_URL,
	schema: "packaging",
	keystorePassword: "the packaging test's key store password",
});

export const authOptions = {
	baseURL: "http://localhost:3000",
	secret: "the packaging test's Better Auth secret, 32+ characters",
	emailAndPassword: { enabled: true },
	plugins: [jwt({ adapter: stores.keyStore.jwtAdapter })],
};

export const auth = betterAuth(stores.applyTo(authOptions));
