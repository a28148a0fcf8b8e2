/**
 * The server side of the demo: authpg stores on the chosen driver, Better
 * Auth with the organization and JWT plugins and SQL rate limiting, served
 * over node:http exactly as an application would.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Stores } from "@authpg/core";
import { createStores as pgliteStores } from "@authpg/pglite";
import { createStores as poolStores } from "@authpg/pool";
import { type BetterAuthOptions, betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { jwt, organization } from "better-auth/plugins";
import type { DemoArgs } from "./args.js";

/** The Postgres schema (namespace) the demo's tables live in. */
export const SCHEMA = "authpg_demo";

/** Sign-in attempts allowed per client IP per minute: low, so the scripted client can reach the limit. */
export const SIGN_IN_LIMIT = { window: 60, max: 3 };

// A fixed secret is fine for a throwaway demo database; a real application reads it from its environment.
const SECRET = "authpg-demo-secret-not-for-production-0123456789";
const KEYSTORE_PASSWORD = "authpg-demo-keystore-password";

/** Stores for `args.driver`. Synchronous: nothing connects (or starts) until the first query. */
export function demoStores(args: DemoArgs): Stores {
	const options = { schema: SCHEMA, keystorePassword: KEYSTORE_PASSWORD };
	return args.driver === "pool" ? poolStores({ connectionString: args.url, ...options }) : pgliteStores(options);
}

/** Better Auth options for the demo, before the stores are applied; `baseURL` once the port is known. */
export function demoAuthOptions(stores: Stores, baseURL?: string): BetterAuthOptions {
	return {
		baseURL,
		secret: SECRET,
		emailAndPassword: { enabled: true },
		plugins: [organization(), jwt({ adapter: stores.keyStore.jwtAdapter })],
		rateLimit: {
			enabled: true,
			window: 60,
			max: 100,
			customRules: { "/sign-in/email": SIGN_IN_LIMIT },
		},
		logger: { level: "error" },
	};
}

/** A running demo server. */
export interface DemoServer {
	readonly baseURL: string;
	close(): Promise<void>;
}

/** Listen on 127.0.0.1:`port` (0: any free port) with Better Auth mounted at `/api/auth`. */
export async function startServer(stores: Stores, port: number): Promise<DemoServer> {
	let handle: ReturnType<typeof toNodeHandler> | undefined;
	const server: Server = createServer((req, res) => {
		// No proxy in front: the TCP peer is the client. Better Auth reads the client IP (the rate-limit key) from this header.
		req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "";
		if (handle && req.url?.startsWith("/api/auth")) {
			handle(req, res).catch((error: unknown) => {
				res.statusCode = 500;
				res.end(String(error));
			});
			return;
		}
		res.statusCode = 404;
		res.setHeader("content-type", "text/plain");
		res.end("Better Auth is at /api/auth (try /api/auth/ok)\n");
	});
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(port, "127.0.0.1", () => resolve());
	});
	const { port: actual } = server.address() as AddressInfo;
	const baseURL = `http://127.0.0.1:${actual}`;
	const auth = betterAuth(stores.applyTo(demoAuthOptions(stores, baseURL)));
	handle = toNodeHandler(auth);
	return {
		baseURL,
		close: () =>
			new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			}),
	};
}
