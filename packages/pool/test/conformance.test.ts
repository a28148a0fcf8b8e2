import { runConformance } from "@authpg/conformance";
import { createDriver } from "../src/index.js";

await runConformance({ name: "pool", connect: (url) => createDriver(url) });
