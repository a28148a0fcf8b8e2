import { existsSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { debugLog, type TestServer } from "./database-server.js";
import { TEST_SERVER_FLAGS } from "./server-flags.js";

const DEFAULT_IMAGE = "postgres:17-alpine";
const PING_TIMEOUT_MS = 1_000;

type Endpoint = { socketPath: string } | { host: string; port: number };

/**
 * Whether a Docker engine answers, checked the way Testcontainers looks for one, but only with
 * file checks and a one-second ping: Testcontainers' own probing is slow when nothing runs.
 */
export async function dockerEngineAvailable(): Promise<boolean> {
	const flag = process.env.AUTHPG_TEST_DOCKER?.toLowerCase();
	if (flag === "0" || flag === "false") return false;
	const endpoints = dockerEndpoints();
	if (endpoints.length === 0) {
		debugLog("no Docker endpoint found");
		return false;
	}
	const answers = await Promise.all(endpoints.map(ping));
	debugLog(`Docker endpoints ${JSON.stringify(endpoints)} answered ${JSON.stringify(answers)}`);
	return answers.some(Boolean);
}

function dockerEndpoints(): Endpoint[] {
	const endpoints: Endpoint[] = [];
	const properties = readTestcontainersProperties();
	for (const uri of [properties["tc.host"], process.env.DOCKER_HOST, properties["docker.host"]]) {
		const endpoint = uri ? parseDockerUri(uri) : undefined;
		if (endpoint) endpoints.push(endpoint);
	}
	if (process.platform === "win32") {
		endpoints.push({ socketPath: "//./pipe/docker_engine" });
		return endpoints;
	}
	const sockets = [
		"/var/run/docker.sock",
		process.env.XDG_RUNTIME_DIR && join(process.env.XDG_RUNTIME_DIR, "docker.sock"),
		join(homedir(), ".docker", "run", "docker.sock"),
		join(homedir(), ".docker", "desktop", "docker.sock"),
		join("/run", "user", String(userInfo().uid), "docker.sock"),
	];
	for (const socketPath of sockets) {
		if (socketPath && existsSync(socketPath)) endpoints.push({ socketPath });
	}
	return endpoints;
}

function readTestcontainersProperties(): Record<string, string> {
	const file = join(homedir(), ".testcontainers.properties");
	const properties: Record<string, string> = {};
	if (!existsSync(file)) return properties;
	try {
		for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
			const match = /^\s*([\w.]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
			if (match) properties[match[1]] = match[2];
		}
	} catch {
		// Unreadable properties just mean Testcontainers would not find an engine there either.
	}
	return properties;
}

function parseDockerUri(uri: string): Endpoint | undefined {
	try {
		const url = new URL(uri);
		if (url.protocol === "unix:") return existsSync(url.pathname) ? { socketPath: url.pathname } : undefined;
		// WHATWG URL parsing would drop the "." of npipe:////./pipe/docker_engine.
		if (url.protocol === "npipe:") return { socketPath: uri.slice("npipe://".length) };
		if (url.protocol === "tcp:" || url.protocol === "http:" || url.protocol === "https:") {
			return { host: url.hostname, port: Number(url.port) || 2375 };
		}
	} catch {
		// Not a URI Testcontainers understands either.
	}
	return undefined;
}

function ping(endpoint: Endpoint): Promise<boolean> {
	if ("host" in endpoint) {
		// A TCP engine may want TLS client certificates; an open port is answer enough here,
		// Testcontainers does the real handshake.
		return new Promise((resolve) => {
			const socket = connect({ host: endpoint.host, port: endpoint.port });
			const done = (ok: boolean) => {
				socket.destroy();
				resolve(ok);
			};
			socket.setTimeout(PING_TIMEOUT_MS, () => done(false));
			socket.once("connect", () => done(true));
			socket.once("error", () => done(false));
		});
	}
	return new Promise((resolve) => {
		const req = request(
			{ socketPath: endpoint.socketPath, path: "/_ping", method: "GET", timeout: PING_TIMEOUT_MS },
			(res) => {
				res.resume();
				resolve(res.statusCode === 200);
			},
		);
		req.once("timeout", () => {
			req.destroy();
			resolve(false);
		});
		req.once("error", () => resolve(false));
		req.end();
	});
}

/** A PostgreSQL container; Testcontainers' Ryuk removes it even if this process is killed. */
export async function startContainerServer(): Promise<TestServer> {
	const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
	const image = process.env.AUTHPG_TEST_POSTGRES_IMAGE || DEFAULT_IMAGE;
	const started = Date.now();
	const container = await new PostgreSqlContainer(image)
		.withDatabase("postgres")
		.withUsername("postgres")
		.withPassword("postgres")
		.withCommand(["postgres", ...TEST_SERVER_FLAGS])
		.start();
	debugLog(`container ${image} ready in ${Date.now() - started} ms`);
	return {
		adminUrl: container.getConnectionUri(),
		source: "testcontainers",
		stop: async () => {
			await container.stop();
		},
	};
}
