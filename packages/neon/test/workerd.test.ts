import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bundleApp, type SmokeBackend, signUpSignInGetSession, startSmokeBackend } from "./smoke.js";

let backend: SmokeBackend;
let miniflare: Miniflare | undefined;

beforeAll(async () => {
	backend = await startSmokeBackend("neon_workerd");
});

afterAll(async () => {
	await miniflare?.dispose();
	await backend?.close();
});

describe("Cloudflare workerd (miniflare)", () => {
	it("runs Better Auth sign-up → sign-in → getSession through @authpg/neon", async () => {
		// The conditions wrangler resolves with; Node built-ins stay imports, served by nodejs_compat.
		const code = await bundleApp("workerd", {
			format: "esm",
			conditions: ["workerd", "worker", "browser"],
			external: ["node:*", "cloudflare:*"],
		});
		miniflare = new Miniflare({
			// Listed explicitly: Better Auth's bundle keeps a dynamic import that scriptPath + modules: true rejects.
			modules: [{ type: "ESModule", path: "worker.mjs", contents: code }],
			compatibilityDate: "2025-09-01",
			compatibilityFlags: ["nodejs_compat"],
			bindings: { SMOKE_CONFIG: backend.config },
			// Otherwise miniflare fetches Cloudflare's request metadata from the internet.
			cf: false,
		});
		await miniflare.ready;
		const before = { http: backend.local.http.requests, ws: backend.local.relay.totalConnections };
		const fetch = (url: string, init?: RequestInit) =>
			miniflare!.dispatchFetch(url, init as never) as unknown as Promise<Response>;
		await signUpSignInGetSession(fetch, /^workerd:Cloudflare-Workers$/, "workerd@example.com");
		// Statements went over HTTP, and sign-up's transaction over a WebSocket, from inside workerd.
		expect(backend.local.http.requests).toBeGreaterThan(before.http);
		expect(backend.local.relay.totalConnections).toBeGreaterThan(before.ws);
		// Each request closed its stores, so no WebSocket is left open.
		await vi.waitFor(() => expect(backend.local.relay.openConnections).toBe(0), { timeout: 10_000 });
	});
});
