/**
 * The Better Auth app bundled into workerd by {@link runHyperdriveWorkerd}:
 * stores built per request from the Hyperdrive binding, closed after the
 * response with `ctx.waitUntil`. Runs inside workerd, so it imports only
 * what a Worker can (no vitest, no Node-only modules).
 */
import type { Stores } from "@authpg/core";
import { betterAuth } from "better-auth";

/** Bindings the test gives the Worker. */
export interface HyperdriveEnv {
	HYPERDRIVE: { connectionString: string };
	AUTH_SECRET: string;
}

/** The part of the Workers `ExecutionContext` the app uses. */
export interface ExecutionContext {
	waitUntil(promise: Promise<unknown>): void;
}

/** The Better Auth options the test migrates for, and the Worker runs with. */
export const hyperdriveAuthOptions = { emailAndPassword: { enabled: true } };

/** The schema the auth tables live in: Hyperdrive drops URL parameters, so it cannot come from `search_path`. */
export const HYPERDRIVE_SCHEMA = "auth";

declare const navigator: { userAgent: string };

/** A module Worker answering Better Auth requests with stores from `createStores(connectionString)`. */
export function hyperdriveWorker(createStores: (connectionString: string, schema: string) => Stores) {
	return {
		async fetch(request: Request, env: HyperdriveEnv, ctx: ExecutionContext): Promise<Response> {
			// The documented pattern: per request, never at module scope, closed once the response is out.
			const stores = createStores(env.HYPERDRIVE.connectionString, HYPERDRIVE_SCHEMA);
			try {
				const auth = betterAuth(
					stores.applyTo({
						...hyperdriveAuthOptions,
						secret: env.AUTH_SECRET,
						baseURL: "http://localhost:3000",
						logger: { level: "error" },
					}),
				);
				const response = await auth.handler(request);
				const headers = new Headers(response.headers);
				headers.set("x-runtime", navigator.userAgent);
				const nodeEnv = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
					?.NODE_ENV;
				headers.set("x-node-env", String(nodeEnv));
				return new Response(response.body, { status: response.status, headers });
			} catch (error) {
				return new Response(error instanceof Error ? `${error.name}: ${error.message}` : String(error), {
					status: 599,
				});
			} finally {
				ctx.waitUntil(stores.close());
			}
		},
	};
}
