import { fileURLToPath } from "node:url";
import { hyperdriveWorkerdSuite } from "@authpg/conformance/workerd";
import { createStores } from "../src/index.js";

hyperdriveWorkerdSuite({
	name: "node-postgres",
	entry: fileURLToPath(new URL("./workerd/worker.ts", import.meta.url)),
	createStores,
});
