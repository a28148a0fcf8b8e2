/**
 * Child process of the benchmark: the local stand-ins for Neon's two front
 * doors (`startNeonLocal` from `@authpg/conformance/neon`, the ones the Neon
 * conformance tests use), kept out of the benchmark's process so their work
 * lands neither on its event loop nor in its client CPU figures — as Neon's
 * proxy is not in the application's process. Sends the `neonConfig` settings
 * once listening; stops when the parent disconnects.
 */
import { startNeonLocal } from "@authpg/conformance/neon";

const local = await startNeonLocal();
process.send?.({ settings: local.settings });
process.on("disconnect", () => {
	void local.close().finally(() => process.exit(0));
});
