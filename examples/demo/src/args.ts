/** What `pnpm demo` was asked to do. */
export interface DemoArgs {
	driver: "pglite" | "pool";
	/** Postgres URL for `--driver pool`. */
	url: string | undefined;
	/** Keep the server running after the scripted client, for curl. */
	serve: boolean;
	/** Port to listen on; 0 picks a free one. */
	port: number;
	/** Print each migration step's SQL too. */
	sql: boolean;
}

export const USAGE = `Usage: pnpm demo [options]

A real Better Auth HTTP server on localhost over authpg, then a scripted client
against it. Exit code 0 only when every step passes.

Options:
  --driver pglite|pool  pglite (default): PGlite in memory, nothing to install or run.
                        pool: @authpg/pool on a PostgreSQL server (needs --url or DATABASE_URL);
                        uses the schema "authpg_demo", dropped and re-created first.
  --url postgres://…    the server for --driver pool
  --serve               keep the server running afterwards and print how to try it with curl
  --port N              port to listen on (default: a free one; 3000 with --serve)
  --sql                 print the SQL of each migration step
  --help                this text`;

/** Parse `argv` (without node and the script); throws an Error with a message for the user on bad input. */
export function parseArgs(argv: readonly string[]): DemoArgs | "help" {
	const args: DemoArgs = { driver: "pglite", url: undefined, serve: false, port: -1, sql: false };
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i]!;
		const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
		const value = () => {
			const v = inline ?? argv[++i];
			if (v === undefined || v === "") throw new Error(`${flag} needs a value`);
			return v;
		};
		switch (flag) {
			case "--":
				break;
			case "--help":
			case "-h":
				return "help";
			case "--driver": {
				const driver = value();
				if (driver !== "pglite" && driver !== "pool") throw new Error(`--driver is pglite or pool, not "${driver}"`);
				args.driver = driver;
				break;
			}
			case "--url":
				args.url = value();
				break;
			case "--serve":
				args.serve = true;
				break;
			case "--port": {
				const port = Number(value());
				if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port is a number from 0 to 65535");
				args.port = port;
				break;
			}
			case "--sql":
				args.sql = true;
				break;
			default:
				throw new Error(`unknown option ${arg}`);
		}
	}
	if (args.driver === "pool") {
		args.url ??= process.env.DATABASE_URL;
		if (!args.url) throw new Error("--driver pool needs --url postgres://… (or DATABASE_URL)");
	} else if (args.url) {
		throw new Error("--url is for --driver pool; PGlite needs none");
	}
	if (args.port < 0) args.port = args.serve ? 3000 : 0;
	return args;
}
