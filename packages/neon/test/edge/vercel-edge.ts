/** Entry for the Vercel Edge Runtime emulator: a `fetch` event listener, as Vercel's edge functions are run. */
import { handleAuth, type SmokeConfig } from "./app.js";

interface FetchEvent extends Event {
	request: Request;
	respondWith(response: Promise<Response>): void;
}

declare const SMOKE_CONFIG: SmokeConfig;
declare const EdgeRuntime: string | undefined;
declare function addEventListener(type: "fetch", listener: (event: FetchEvent) => void): void;

addEventListener("fetch", (fetchEvent) => {
	fetchEvent.respondWith(
		handleAuth(
			fetchEvent.request,
			SMOKE_CONFIG,
			`edge-runtime:${typeof EdgeRuntime === "string" ? EdgeRuntime : "none"}`,
		),
	);
});
