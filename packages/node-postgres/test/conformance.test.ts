import { runConformance } from "@authpg/conformance";
import { createDriver } from "../src/index.js";

await runConformance({ name: "node-postgres", connect: (url) => createDriver(url), connections: "one" });
