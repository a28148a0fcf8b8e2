import { fileURLToPath } from "node:url";
import { hyperdriveWorkerdSuite } from "@authpg/conformance/workerd";
import { createStores } from "../src/index.js";

hyperdriveWorkerdSuite({
	name: "postgres-js",
	entry: fileURLToPath(new URL("./workerd/worker.ts", import.meta.url)),
	createStores,
});
