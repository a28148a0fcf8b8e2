import { runConformance } from "@authpg/conformance";
import { createDriver } from "../src/index.js";

// PGlite has no server: each call is a fresh in-memory database, and the suite needs no test database.
await runConformance({ name: "pglite", connect: () => createDriver(), singleSession: true });
