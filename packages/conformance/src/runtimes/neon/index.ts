/**
 * Local stand-ins for Neon's two front doors (SQL over HTTP, Postgres over
 * WebSocket), both in front of the same real test PostgreSQL, so the Neon
 * serverless driver runs unpatched, configured through `neonConfig` only.
 *
 * ```ts
 * const neonLocal = await startNeonLocal();
 * configureNeon(neonConfig, neonLocal);
 * const sql = neon(database.url); // the plain postgres:// URL of the test database
 * ```
 *
 * @module
 */
import { WebSocket } from "ws";
import { type NeonHttpEndpoint, startNeonHttpEndpoint } from "./http-endpoint.js";
import { startWebSocketRelay, type WebSocketRelay } from "./relay.js";

export { type NeonHttpEndpoint, startNeonHttpEndpoint } from "./http-endpoint.js";
export { startWebSocketRelay, type WebSocketRelay } from "./relay.js";

/** The HTTP endpoint and the WebSocket relay, started together. */
export interface NeonLocal {
	readonly http: NeonHttpEndpoint;
	readonly relay: WebSocketRelay;
	/** The `neonConfig` settings that point the driver here (WebSocket constructor not included). */
	readonly settings: NeonLocalSettings;
	/** Stop both. Idempotent. */
	close(): Promise<void>;
}

/** Plain values, so they can also be handed to code running in another runtime (edge, workerd). */
export interface NeonLocalSettings {
	fetchEndpoint: string;
	/** `127.0.0.1:<port>/v2`; the driver appends `?address=host:port`. */
	wsProxy: string;
	useSecureWebSocket: false;
	/** Cleartext-password pipelining would fail against a server that asks for SCRAM or trusts. */
	pipelineConnect: false;
}

/** Start the HTTP endpoint and the WebSocket relay on free ports of 127.0.0.1. */
export async function startNeonLocal(): Promise<NeonLocal> {
	const [http, relay] = await Promise.all([startNeonHttpEndpoint(), startWebSocketRelay()]);
	let closing: Promise<void> | undefined;
	return {
		http,
		relay,
		settings: {
			fetchEndpoint: http.url,
			wsProxy: `${relay.host}/v2`,
			useSecureWebSocket: false,
			pipelineConnect: false,
		},
		close() {
			closing ??= Promise.all([http.close(), relay.close()]).then(() => {});
			return closing;
		},
	};
}

/** The part of `@neondatabase/serverless`'s `neonConfig` this module sets. */
export interface NeonConfigLike {
	fetchEndpoint: unknown;
	wsProxy: unknown;
	useSecureWebSocket: boolean;
	pipelineConnect: unknown;
	webSocketConstructor: unknown;
}

/** Point `neonConfig` (global to the driver) at `local`, with `ws` as the WebSocket of Node 20. */
export function configureNeon(neonConfig: NeonConfigLike, local: NeonLocal): void {
	Object.assign(neonConfig, local.settings);
	neonConfig.webSocketConstructor = WebSocket;
}
