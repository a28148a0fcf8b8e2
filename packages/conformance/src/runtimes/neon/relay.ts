/**
 * A WebSocket-to-TCP relay: what Neon's proxy does for the serverless
 * driver's WebSocket `Pool`, in front of a plain PostgreSQL. Each WebSocket
 * carries one Postgres connection, byte for byte, to the `address=host:port`
 * its URL names (the driver's `neonConfig.wsProxy` puts it there).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import { closeServer, listenOnLoopback } from "./listen.js";

/** A running relay. */
export interface WebSocketRelay {
	/** `127.0.0.1:<port>`: the host part of `neonConfig.wsProxy`. */
	readonly host: string;
	readonly port: number;
	/** Connections currently relayed. */
	readonly openConnections: number;
	/** Connections relayed since the start. */
	readonly totalConnections: number;
	/** Stop accepting, cut every relayed connection and close the server. Idempotent. */
	close(): Promise<void>;
}

/** Start a relay on a free port of 127.0.0.1. */
export async function startWebSocketRelay(): Promise<WebSocketRelay> {
	const server: Server = createServer((_req, res) => {
		res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket upgrade expected\n");
	});
	const wss = new WebSocketServer({ server });
	const pairs = new Set<{ ws: WebSocket; tcp: Socket }>();
	let total = 0;

	wss.on("connection", (ws: WebSocket, req: IncomingMessage) => {
		const target = targetOf(req);
		if (!target) {
			ws.close(1008, "address=host:port expected");
			return;
		}
		const tcp = connect({ host: target.host, port: target.port });
		tcp.setNoDelay(true);
		const pair = { ws, tcp };
		pairs.add(pair);
		total++;
		// Postgres frames may arrive before the TCP connection is up; a net.Socket buffers writes until then.
		ws.on("message", (data: RawData) => {
			tcp.write(toBuffer(data));
		});
		tcp.on("data", (chunk) => {
			if (ws.readyState === WebSocket.OPEN) ws.send(chunk, { binary: true });
		});
		const end = () => {
			pairs.delete(pair);
			tcp.destroy();
			if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
		};
		ws.on("close", end);
		ws.on("error", end);
		tcp.on("close", end);
		tcp.on("error", end);
	});

	const port = await listenOnLoopback(server);

	let closing: Promise<void> | undefined;
	return {
		host: `127.0.0.1:${port}`,
		port,
		get openConnections() {
			return pairs.size;
		},
		get totalConnections() {
			return total;
		},
		close() {
			closing ??= (async () => {
				for (const { ws, tcp } of pairs) {
					tcp.destroy();
					ws.terminate();
				}
				pairs.clear();
				await new Promise<void>((resolve) => wss.close(() => resolve()));
				await closeServer(server);
			})();
			return closing;
		},
	};
}

function targetOf(req: IncomingMessage): { host: string; port: number } | undefined {
	const address = new URL(req.url ?? "/", "http://relay").searchParams.get("address");
	const match = address?.match(/^(.+):(\d+)$/);
	if (!match) return undefined;
	// An IPv6 literal arrives bracketed, as in a URL.
	return { host: match[1].replace(/^\[(.*)\]$/, "$1"), port: Number(match[2]) };
}

function toBuffer(data: RawData): Buffer {
	if (Buffer.isBuffer(data)) return data;
	if (Array.isArray(data)) return Buffer.concat(data);
	return Buffer.from(data);
}
