/**
 * A local SQL-over-HTTP endpoint that speaks the protocol of Neon's `/sql`
 * API, as `@neondatabase/serverless`'s `neon()` uses it, in front of a plain
 * PostgreSQL:
 *
 * - `POST` with `Neon-Connection-String` naming the database (and the
 *   credentials) to run on, like Neon's proxy, which connects as that user;
 * - body `{ query, params }`, or `{ queries: [...] }` for a batch that runs in
 *   one transaction (`Neon-Batch-Isolation-Level`, `Neon-Batch-Read-Only`,
 *   `Neon-Batch-Deferrable`);
 * - `Neon-Raw-Text-Output: true`: every value goes back as Postgres's text,
 *   with each field's `dataTypeID`, so the client parses types itself exactly
 *   as it does against Neon; `Neon-Array-Mode: true`: rows as arrays;
 * - 200 with `{ command, rowCount, rows, fields, rowAsArray }` (a batch:
 *   `{ results: [...] }`), or 400 with the Postgres error's fields.
 *
 * Statements always use the extended protocol, as Neon's do, so a text with
 * several statements fails here as it fails there.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import pg from "pg";
import { closeServer, listenOnLoopback } from "./listen.js";

/** A running endpoint. */
export interface NeonHttpEndpoint {
	/** `http://127.0.0.1:<port>/sql`: the value for `neonConfig.fetchEndpoint`. */
	readonly url: string;
	readonly port: number;
	/** Requests answered since the start (a batch counts once). */
	readonly requests: number;
	/** Close every database connection and the server. Idempotent. */
	close(): Promise<void>;
}

interface Statement {
	query: string;
	params?: unknown[];
}

/** Field attributes of Postgres's error messages, as Neon returns them (the names node-postgres uses). */
const ERROR_FIELDS = [
	"severity",
	"code",
	"detail",
	"hint",
	"position",
	"internalPosition",
	"internalQuery",
	"where",
	"schema",
	"table",
	"column",
	"dataType",
	"constraint",
	"file",
	"line",
	"routine",
] as const;

const ISOLATION: Record<string, string> = {
	ReadUncommitted: "read uncommitted",
	ReadCommitted: "read committed",
	RepeatableRead: "repeatable read",
	Serializable: "serializable",
};

/** Every value as the text Postgres sent: the client does the parsing. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

/**
 * node-postgres before 8.15 has no `queryMode` and sends a parameterless text with the simple
 * protocol, which runs several statements (the version matrix's lowest cell pins pg 8.11 for the
 * whole workspace, this endpoint included). There, a named statement forces the extended protocol;
 * it is deallocated after its one use, so that no plan outlives a migration that changes a table.
 */
const HAS_QUERY_MODE =
	(new pg.Query({ text: "", queryMode: "extended" } as pg.QueryConfig) as { queryMode?: string }).queryMode ===
	"extended";
let statements = 0;

class RequestError extends Error {}

/** Start an endpoint on a free port of 127.0.0.1. */
export async function startNeonHttpEndpoint(): Promise<NeonHttpEndpoint> {
	const pools = new Map<string, pg.Pool>();
	let requests = 0;

	const poolFor = (connectionString: string): pg.Pool => {
		let pool = pools.get(connectionString);
		if (!pool) {
			pool = new pg.Pool({ connectionString, max: 10 });
			// An idle connection dropped by the server must not crash the test process.
			pool.on("error", () => {});
			pools.set(connectionString, pool);
		}
		return pool;
	};

	const handle = async (req: IncomingMessage, res: ServerResponse) => {
		requests++;
		try {
			if (req.method !== "POST") throw new RequestError("POST expected");
			const connectionString = header(req, "neon-connection-string");
			if (!connectionString) throw new RequestError("Neon-Connection-String header expected");
			if (header(req, "neon-raw-text-output") !== "true") {
				throw new RequestError("this local endpoint only answers Neon-Raw-Text-Output: true");
			}
			const arrayMode = header(req, "neon-array-mode") === "true";
			const body = JSON.parse(await readBody(req)) as Statement | { queries: Statement[] };
			const client = await poolFor(connectionString).connect();
			let broken: Error | undefined;
			try {
				const run = (statement: Statement) => runStatement(client, statement, arrayMode);
				if ("queries" in body) {
					const results = await runBatch(client, body.queries, run, req);
					return send(res, 200, { results });
				}
				return send(res, 200, await run(body));
			} catch (error) {
				if (!isDatabaseError(error) || (error as { severity?: string }).severity === "FATAL") {
					broken = error as Error;
				}
				throw error;
			} finally {
				client.release(broken);
			}
		} catch (error) {
			if (isDatabaseError(error)) {
				const body: Record<string, unknown> = { message: (error as Error).message };
				for (const field of ERROR_FIELDS) {
					const value = (error as unknown as Record<string, unknown>)[field];
					if (value !== undefined) body[field] = value;
				}
				return send(res, 400, body);
			}
			const message = error instanceof Error ? error.message : String(error);
			if (error instanceof RequestError || error instanceof SyntaxError) return send(res, 400, { message });
			return send(res, 500, { message });
		}
	};

	const server: Server = createServer((req, res) => {
		void handle(req, res);
	});
	const port = await listenOnLoopback(server);

	let closing: Promise<void> | undefined;
	return {
		url: `http://127.0.0.1:${port}/sql`,
		port,
		get requests() {
			return requests;
		},
		close() {
			closing ??= (async () => {
				await closeServer(server);
				await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => {})));
				pools.clear();
			})();
			return closing;
		},
	};
}

async function runStatement(client: pg.PoolClient, statement: Statement, arrayMode: boolean) {
	if (typeof statement?.query !== "string") throw new RequestError("query (a string) expected");
	const name = HAS_QUERY_MODE ? undefined : `authpg-neon-http-${++statements}`;
	const result = await client
		.query({
			text: statement.query,
			values: statement.params ?? [],
			types: RAW_TEXT,
			rowMode: arrayMode ? "array" : undefined,
			queryMode: "extended",
			name,
		} as pg.QueryConfig)
		.finally(() => (name ? client.query(`deallocate "${name}"`).catch(() => {}) : undefined));
	return {
		command: result.command,
		rowCount: result.rowCount,
		rows: result.rows,
		fields: result.fields.map(({ name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format }) => ({
			name,
			tableID,
			columnID,
			dataTypeID,
			dataTypeSize,
			dataTypeModifier,
			format,
		})),
		rowAsArray: arrayMode,
	};
}

async function runBatch<T>(
	client: pg.PoolClient,
	queries: Statement[],
	run: (statement: Statement) => Promise<T>,
	req: IncomingMessage,
): Promise<T[]> {
	if (!Array.isArray(queries)) throw new RequestError("queries (an array) expected");
	const isolation = header(req, "neon-batch-isolation-level");
	const modes: string[] = [];
	if (isolation !== undefined) {
		if (!ISOLATION[isolation]) throw new RequestError(`unknown Neon-Batch-Isolation-Level ${isolation}`);
		modes.push(`isolation level ${ISOLATION[isolation]}`);
	}
	const readOnly = header(req, "neon-batch-read-only");
	if (readOnly !== undefined) modes.push(readOnly === "true" ? "read only" : "read write");
	if (header(req, "neon-batch-deferrable") === "true") modes.push("deferrable");
	await client.query(`begin ${modes.join(", ")}`);
	try {
		const results: T[] = [];
		for (const statement of queries) results.push(await run(statement));
		await client.query("commit");
		return results;
	} catch (error) {
		await client.query("rollback").catch(() => {});
		throw error;
	}
}

function header(req: IncomingMessage, name: string): string | undefined {
	const value = req.headers[name];
	return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

function isDatabaseError(error: unknown): boolean {
	return error instanceof pg.DatabaseError;
}

function send(res: ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
	res.end(text);
}
