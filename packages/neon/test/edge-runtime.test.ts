import { EdgeRuntime } from "edge-runtime";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { bundleApp, type SmokeBackend, signUpSignInGetSession, startSmokeBackend } from "./smoke.js";

let backend: SmokeBackend;

beforeAll(async () => {
	backend = await startSmokeBackend("neon_edge");
});

afterAll(async () => {
	await backend?.close();
});

describe("Vercel Edge Runtime emulator", () => {
	it("runs Better Auth sign-up → sign-in → getSession through @authpg/neon", async () => {
		// The conditions Next.js resolves edge code with.
		const code = await bundleApp("vercel-edge", { format: "iife", conditions: ["edge-light", "worker", "browser"] });
		const runtime = new EdgeRuntime({
			initialCode: code,
			extend: (context) =>
				Object.assign(context, {
					SMOKE_CONFIG: backend.config,
					// Vercel's edge runtime has a WebSocket client; the emulator does not, so it gets one.
					WebSocket,
				}),
		});
		const before = { http: backend.local.http.requests, ws: backend.local.relay.totalConnections };
		const fetch = async (url: string, init?: RequestInit) => {
			const response = await runtime.dispatchFetch(url, init);
			await response.waitUntil();
			return response as Response;
		};
		await signUpSignInGetSession(fetch, /^edge-runtime:edge-runtime$/, "edge@example.com");
		// Statements went over HTTP, and sign-up's transaction over a WebSocket, from inside the emulator.
		expect(backend.local.http.requests).toBeGreaterThan(before.http);
		expect(backend.local.relay.totalConnections).toBeGreaterThan(before.ws);
		// Each request closed its stores, so no WebSocket is left open.
		await vi.waitFor(() => expect(backend.local.relay.openConnections).toBe(0), { timeout: 10_000 });
	});
});
