/**
 * Which database the CLI talks to: `--url` (a pool of our own), else the
 * driver of the config's authpg adapter. Also which namespace and naming.
 */
import type { Driver } from "@authpg/core";
import { createDriver } from "@authpg/pool";
import type { Project } from "./config.js";
import { CliError, Exit, usageError } from "./exit.js";

/** The database a planning command runs against. */
export interface Connection {
	driver: Driver;
	namespace: string;
	usePlural: boolean;
	/** How the connection was chosen, for the header line. */
	via: string;
	/** Close every driver the CLI opened or was handed. */
	close(): Promise<void>;
}

/** `postgres://user:secret@host/db` with the password hidden. */
export function redactUrl(url: string): string {
	try {
		const parsed = new URL(url);
		if (parsed.password) parsed.password = "***";
		return parsed.toString();
	} catch {
		return "(the --url connection string)";
	}
}

/** Namespace and naming for `project`, `--schema` winning over the adapter's. */
export function naming(project: Project, schema?: string): { namespace: string; usePlural: boolean } {
	return { namespace: schema ?? project.authpg?.schema ?? "public", usePlural: project.authpg?.usePlural ?? false };
}

/** A pool of the CLI's own on `--url`; a usage error when the URL is not one. */
export function openUrl(url: string): Driver {
	try {
		return createDriver({ connectionString: url, max: 2, application_name: "authpg" });
	} catch (error) {
		throw usageError(`--url: ${(error as Error).message}`);
	}
}

/** Open the connection the flags and config ask for. */
export function connect(project: Project, flags: { url?: string; schema?: string }): Connection {
	const { namespace, usePlural } = naming(project, flags.schema);
	const own = project.authpg?.driver;
	if (flags.url !== undefined) {
		const driver = openUrl(flags.url);
		return {
			driver,
			namespace,
			usePlural,
			via: redactUrl(flags.url),
			close: async () => {
				await Promise.allSettled([driver.close(), own?.close()]);
			},
		};
	}
	if (!own) {
		const adapter = project.adapterId ? `"${project.adapterId}"` : "not authpg's";
		throw new CliError(
			Exit.usage,
			`${project.shown}: the Better Auth database adapter is ${adapter}, so the CLI has no authpg connection to use. Use createStores from an @authpg package in the config (database: stores.adapter), or pass --url postgres://… to plan against that database.`,
		);
	}
	return {
		driver: own,
		namespace,
		usePlural,
		via: `the authpg adapter in ${project.shown}`,
		close: async () => {
			await own.close();
		},
	};
}

/** Who and where we are connected, for the header; fails early (exit 3) when the database does not answer. */
export async function describeDatabase(connection: Connection): Promise<string> {
	const { driver } = connection;
	let row: { database: string; user: string; host: string | null; port: number | null; version: string } | undefined;
	try {
		({
			rows: [row],
		} = await driver.query<{
			database: string;
			user: string;
			host: string | null;
			port: number | null;
			version: string;
		}>(
			`select current_database() as "database", current_user as "user", host(inet_server_addr()) as "host",
			        inet_server_port() as "port", current_setting('server_version') as "version"`,
			[],
		));
	} catch (error) {
		throw new CliError(
			Exit.database,
			`Could not reach the database through ${connection.via}: ${(error as Error)?.message ?? String(error)}`,
		);
	}
	if (!row) return "the database";
	const where = row.host ? ` on ${row.host}:${row.port}` : " (local socket)";
	return `database "${row.database}"${where} as ${row.user}, PostgreSQL ${row.version.split(" ")[0]}`;
}
