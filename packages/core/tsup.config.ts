import { defineConfig } from "tsup";
import { library } from "../../tsup.library.js";

export default defineConfig({ ...library, entry: { index: "src/index.ts", driver: "src/driver/index.ts" } });
