import { fileURLToPath } from "node:url";
import { hyperdriveWorkerdSuite } from "@authpg/conformance/workerd";
import { createStores } from "../src/index.js";

hyperdriveWorkerdSuite({
	name: "node-postgres",
	entry: fileURLToPath(new URL("./workerd/worker.ts", import.meta.url)),
	async migrate(connectionString, schema, options) {
		const stores = createStores({ connectionString, schema });
		try {
			await stores.migrate(options);
		} finally {
			await stores.close();
		}
	},
});
