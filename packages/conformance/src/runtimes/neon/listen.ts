/** Start and stop the HTTP servers of the Neon stand-ins. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Listen on a free port of 127.0.0.1; resolves to that port. */
export async function listenOnLoopback(server: Server): Promise<number> {
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => resolve());
	});
	return (server.address() as AddressInfo).port;
}

/** Close `server`, cutting the connections it still holds (keep-alive ones included). */
export async function closeServer(server: Server): Promise<void> {
	server.closeAllConnections();
	await new Promise<void>((resolve) => server.close(() => resolve()));
}
