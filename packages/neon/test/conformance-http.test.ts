import { runConformance } from "@authpg/conformance";
import { configureNeon, startNeonLocal } from "@authpg/conformance/neon";
import { neonConfig } from "@neondatabase/serverless";
import { afterAll } from "vitest";
import { createDriver } from "../src/index.js";

// Registered before the suite's own afterAll, so it runs after the drivers have closed.
const local = await startNeonLocal();
afterAll(() => local.close());
configureNeon(neonConfig, local);

// Single statements over HTTP, transactions over the WebSocket Pool.
await runConformance({ name: "neon-http", connect: (url) => createDriver(url) });
