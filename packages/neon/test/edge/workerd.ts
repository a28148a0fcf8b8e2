/** Entry for Cloudflare workerd (miniflare): a module worker; the config arrives as a JSON binding. */
import { handleAuth, type SmokeConfig } from "./app.js";

declare const navigator: { userAgent: string };

const worker = {
	fetch(request: Request, env: { SMOKE_CONFIG: SmokeConfig }): Promise<Response> {
		return handleAuth(request, env.SMOKE_CONFIG, `workerd:${navigator.userAgent}`);
	},
};

// biome-ignore lint/style/noDefaultExport: workerd finds a module worker's handlers on its default export.
export default worker;
