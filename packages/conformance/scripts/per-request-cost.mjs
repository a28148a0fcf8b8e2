// Per-request cost of the Workers + Hyperdrive pattern, without the network:
// build stores from a connection string, apply them to Better Auth's options
// (optionally construct Better Auth too), and close them unused.
// Run from the repo root after building: node packages/conformance/scripts/per-request-cost.mjs
import { performance } from "node:perf_hooks";
import { betterAuth } from "better-auth";
import { createStores as nodePostgres } from "../../node-postgres/dist/index.js";
import { createStores as postgresJs } from "../../postgres-js/dist/index.js";

const URL = "postgres://user:password@127.0.0.1:5432/db";
const OPTIONS = {
	emailAndPassword: { enabled: true },
	secret: "3f1c9a7e5b2d4f6081a3c5e7f9b1d3e5a7c9e1f3b5d7f9a1c3e5b7d9f1a3c5e7",
	baseURL: "http://localhost:3000",
	logger: { level: "error" },
};
const N = 5000;

async function measure(label, create, withAuth) {
	const once = async () => {
		const stores = create({ connectionString: URL, schema: "auth" });
		const options = stores.applyTo(OPTIONS);
		if (withAuth) betterAuth(options);
		await stores.close();
	};
	for (let i = 0; i < 500; i++) await once();
	const start = performance.now();
	for (let i = 0; i < N; i++) await once();
	const micros = ((performance.now() - start) * 1000) / N;
	console.log(`${label.padEnd(48)} ${micros.toFixed(1)} µs/request`);
}

for (const [name, create] of [
	["node-postgres", nodePostgres],
	["postgres-js", postgresJs],
]) {
	await measure(`${name}: createStores + applyTo + close`, create, false);
	await measure(`${name}: … + betterAuth(options)`, create, true);
}
