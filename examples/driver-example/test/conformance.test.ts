import { runConformance } from "@authpg/conformance";
import pg from "pg";
import { exampleDriver } from "../src/driver.js";

await runConformance({ name: "example", connect: (url) => exampleDriver(new pg.Pool({ connectionString: url })) });
