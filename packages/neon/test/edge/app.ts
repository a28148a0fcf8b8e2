/**
 * The smoke-test app bundled into the edge runtimes: Better Auth on
 * `@authpg/neon`, stores per request (closed before the response leaves),
 * the driver pointed at the local endpoints through `neonConfig` only.
 */
import { neonConfig } from "@neondatabase/serverless";
import { betterAuth } from "better-auth";
import { createStores } from "../../src/index.js";

/** What the test hands the app (plain values, so it can cross into another runtime). */
export interface SmokeConfig {
	databaseUrl: string;
	schema: string;
	secret: string;
	baseURL: string;
	neon: { fetchEndpoint: string; wsProxy: string; useSecureWebSocket: boolean; pipelineConnect: false };
}

/** The Better Auth options the test migrates for, and the app runs with. */
export const smokeAuthOptions = { emailAndPassword: { enabled: true } };

/** Answer one request with Better Auth; `runtime` names where it ran, in the `x-runtime` header. */
export async function handleAuth(request: Request, config: SmokeConfig, runtime: string): Promise<Response> {
	Object.assign(neonConfig, config.neon);
	// Per request: an edge runtime may not reuse one request's sockets in another.
	const stores = createStores({ connectionString: config.databaseUrl, schema: config.schema });
	try {
		const auth = betterAuth(
			stores.applyTo({
				...smokeAuthOptions,
				secret: config.secret,
				baseURL: config.baseURL,
				logger: { level: "error" },
			}),
		);
		const response = await auth.handler(request);
		const headers = new Headers(response.headers);
		headers.set("x-runtime", runtime);
		return new Response(await response.text(), { status: response.status, headers });
	} catch (error) {
		return new Response(error instanceof Error ? `${error.name}: ${error.message}` : String(error), {
			status: 599,
			headers: { "x-runtime": runtime },
		});
	} finally {
		await stores.close();
	}
}
