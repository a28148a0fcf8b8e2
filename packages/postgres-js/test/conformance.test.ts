import { runConformance } from "@authpg/conformance";
import { createDriver } from "../src/index.js";

await runConformance({ name: "postgres-js", connect: (url) => createDriver(url) });
