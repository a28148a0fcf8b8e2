/** The Worker bundled into workerd: Better Auth on this driver, stores built per request from Hyperdrive. */
import { hyperdriveWorker } from "@authpg/conformance/workerd-app";
import { createStores } from "../../src/index.js";

// biome-ignore lint/style/noDefaultExport: workerd finds a module worker's handlers on its default export.
export default hyperdriveWorker((connectionString, schema) => createStores({ connectionString, schema }));
