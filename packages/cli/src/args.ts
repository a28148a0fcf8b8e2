/**
 * Command-line parsing with `node:util` `parseArgs` (strict: an unknown flag
 * is an error, not silently ignored — a typo in `--yes` must not go unnoticed).
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { usageError } from "./exit.js";

export const COMMANDS = ["plan", "migrate", "status", "generate", "keystore", "prune", "doctor", "events"] as const;
export type Command = (typeof COMMANDS)[number];

/** Flags every command shares. */
export interface CommonFlags {
	cwd: string;
	config?: string;
	schema?: string;
}

/** Flags of the commands that plan against a database. */
export interface PlanningFlags extends CommonFlags {
	url?: string;
	concurrently: boolean;
	convertArrays: boolean;
	/** `--case-insensitive-indexes` / `--unique-insensitive-email`. */
	caseInsensitiveIndexes: boolean | "unique";
}

export interface PlanFlags extends PlanningFlags {
	json: boolean;
}

export interface StatusFlags extends PlanFlags {
	strict: boolean;
}

export interface MigrateFlags extends PlanningFlags {
	yes: boolean;
	lockTimeoutMs?: number;
	statementTimeoutMs?: number;
}

export interface GenerateFlags extends CommonFlags {
	output?: string;
	yes: boolean;
	/** `--offline`: accepted for scripts that say so; generate never connects either way. */
	offline: boolean;
}

export interface KeystoreFlags extends CommonFlags {
	url?: string;
	vault?: string;
	yes: boolean;
	/** `keystore rotate --resume`: finish a rotation that was stopped, without a new key. */
	resume: boolean;
	/** `keystore seal`/`rotate`: rows per batch. */
	batchSize?: number;
}

export interface PruneFlags extends CommonFlags {
	url?: string;
	dryRun: boolean;
	batchSize?: number;
	schedule?: string;
	json: boolean;
}

export interface DoctorFlags extends CommonFlags {
	url?: string;
	json: boolean;
}

export interface EventsFlags extends CommonFlags {
	url?: string;
	user?: string;
	type?: string[];
	since?: Date;
	limit: number;
	json: boolean;
	follow: boolean;
	/** How often `--follow` polls. */
	intervalMs: number;
}

/** What `authpg keystore` does. */
export const KEYSTORE_ACTIONS = ["rotate-password", "rotate", "seal"] as const;

export type Parsed =
	| { command: "help"; topic?: Command }
	| { command: "version" }
	| { command: "plan"; flags: PlanFlags }
	| { command: "status"; flags: StatusFlags }
	| { command: "migrate"; flags: MigrateFlags }
	| { command: "generate"; flags: GenerateFlags }
	| { command: "keystore"; action: (typeof KEYSTORE_ACTIONS)[number]; flags: KeystoreFlags }
	| { command: "prune"; flags: PruneFlags }
	| { command: "doctor"; flags: DoctorFlags }
	| { command: "events"; flags: EventsFlags };

const common = {
	cwd: { type: "string", short: "c" },
	config: { type: "string" },
	schema: { type: "string" },
	help: { type: "boolean", short: "h" },
} as const;

const planning = {
	...common,
	url: { type: "string" },
	concurrently: { type: "boolean" },
	"convert-arrays": { type: "boolean" },
	"case-insensitive-indexes": { type: "boolean" },
	"unique-insensitive-email": { type: "boolean" },
} as const;

const OPTIONS = {
	plan: { ...planning, json: { type: "boolean" } },
	status: { ...planning, json: { type: "boolean" }, strict: { type: "boolean" } },
	migrate: {
		...planning,
		yes: { type: "boolean", short: "y" },
		"lock-timeout": { type: "string" },
		"statement-timeout": { type: "string" },
	},
	generate: {
		...common,
		output: { type: "string", short: "o" },
		yes: { type: "boolean", short: "y" },
		offline: { type: "boolean" },
	},
	keystore: {
		...common,
		url: { type: "string" },
		vault: { type: "string" },
		yes: { type: "boolean", short: "y" },
		resume: { type: "boolean" },
		"batch-size": { type: "string" },
	},
	prune: {
		...common,
		url: { type: "string" },
		"dry-run": { type: "boolean" },
		"batch-size": { type: "string" },
		schedule: { type: "string" },
		json: { type: "boolean" },
	},
	doctor: { ...common, url: { type: "string" }, json: { type: "boolean" } },
	events: {
		...common,
		url: { type: "string" },
		user: { type: "string" },
		type: { type: "string", multiple: true },
		since: { type: "string" },
		limit: { type: "string" },
		json: { type: "boolean" },
		follow: { type: "boolean", short: "f" },
		interval: { type: "string" },
	},
} as const;

/** `--since`: an ISO date or time, or a duration back from now (`30m`, `24h`, `7d`). */
function since(value: string | undefined): Date | undefined {
	if (value === undefined) return undefined;
	const ago = /^(\d+)([smhd])$/.exec(value);
	if (ago) {
		const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as "s" | "m" | "h" | "d"];
		return new Date(Date.now() - Number(ago[1]) * unit);
	}
	const date = new Date(value);
	if (Number.isNaN(date.getTime())) {
		throw usageError(`--since takes an ISO date or time, or a duration like 24h or 7d, got "${value}".`);
	}
	return date;
}

function milliseconds(flag: string, value: string | undefined): number | undefined {
	if (value === undefined) return undefined;
	const ms = Number(value);
	if (!/^\d+$/.test(value) || !Number.isSafeInteger(ms)) {
		throw usageError(`--${flag} takes a whole number of milliseconds, got "${value}".`);
	}
	return ms;
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
	if (value !== undefined && value.trim() === "") throw usageError(`--${flag} needs a value.`);
	return value;
}

/** Parse `argv` (without node and the script). Throws a usage error (exit 2) on bad input. */
export function parse(argv: readonly string[]): Parsed {
	const [first, ...rest] = argv;
	if (first === undefined || first === "help" || first === "--help" || first === "-h") {
		const topic = rest[0];
		return { command: "help", topic: COMMANDS.includes(topic as Command) ? (topic as Command) : undefined };
	}
	if (first === "--version" || first === "-v" || first === "version") return { command: "version" };
	if (!COMMANDS.includes(first as Command)) {
		throw usageError(`Unknown command "${first}". Commands: ${COMMANDS.join(", ")}. See \`authpg --help\`.`);
	}
	const command = first as Command;
	let args = rest;
	let action: (typeof KEYSTORE_ACTIONS)[number] | undefined;
	if (command === "keystore") {
		const [named, ...more] = rest;
		if (named === undefined || named === "help" || named === "--help" || named === "-h") {
			return { command: "help", topic: command };
		}
		if (!KEYSTORE_ACTIONS.includes(named as (typeof KEYSTORE_ACTIONS)[number])) {
			throw usageError(
				`Unknown keystore command "${named}". Keystore commands: ${KEYSTORE_ACTIONS.join(", ")}. See \`authpg keystore --help\`.`,
			);
		}
		action = named as (typeof KEYSTORE_ACTIONS)[number];
		args = more;
	}
	let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
	try {
		const options: ParseArgsConfig["options"] = OPTIONS[command];
		({ values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }));
	} catch (error) {
		const usage = action ? `${command} ${action}` : command;
		throw usageError(`${(error as Error).message}. See \`authpg ${usage} --help\`.`);
	}
	if (values.help) return { command: "help", topic: command };
	const str = (name: string) => nonEmpty(name, values[name] as string | undefined);
	const bool = (name: string) => values[name] === true;
	const base: CommonFlags = { cwd: str("cwd") ?? process.cwd(), config: str("config"), schema: str("schema") };
	if (command === "generate") {
		return { command, flags: { ...base, output: str("output"), yes: bool("yes"), offline: bool("offline") } };
	}
	if (command === "doctor") return { command, flags: { ...base, url: str("url"), json: bool("json") } };
	if (command === "events") {
		const limit = str("limit") ?? "50";
		if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000) {
			throw usageError(`--limit takes a whole number from 1 to 1000, got "${limit}".`);
		}
		const types = (values.type as string[] | undefined)?.flatMap((t) => t.split(",")).filter(Boolean);
		return {
			command,
			flags: {
				...base,
				url: str("url"),
				user: str("user"),
				type: types?.length ? types : undefined,
				since: since(str("since")),
				limit: Number(limit),
				json: bool("json"),
				follow: bool("follow"),
				intervalMs: milliseconds("interval", str("interval")) ?? 1000,
			},
		};
	}
	if (command === "prune") {
		const size = str("batch-size");
		if (size !== undefined && (!/^\d+$/.test(size) || Number(size) < 1)) {
			throw usageError(`--batch-size takes a positive whole number, got "${size}".`);
		}
		return {
			command,
			flags: {
				...base,
				url: str("url"),
				dryRun: bool("dry-run"),
				batchSize: size === undefined ? undefined : Number(size),
				schedule: str("schedule"),
				json: bool("json"),
			},
		};
	}
	if (command === "keystore") {
		const size = str("batch-size");
		if (size !== undefined && (!/^\d+$/.test(size) || Number(size) < 1)) {
			throw usageError(`--batch-size takes a positive whole number, got "${size}".`);
		}
		return {
			command,
			action: action!,
			flags: {
				...base,
				url: str("url"),
				vault: str("vault"),
				yes: bool("yes"),
				resume: bool("resume"),
				batchSize: size === undefined ? undefined : Number(size),
			},
		};
	}
	const planning: PlanningFlags = {
		...base,
		url: str("url"),
		concurrently: bool("concurrently"),
		convertArrays: bool("convert-arrays"),
		caseInsensitiveIndexes: bool("unique-insensitive-email") ? "unique" : bool("case-insensitive-indexes"),
	};
	if (command === "plan") return { command, flags: { ...planning, json: bool("json") } };
	if (command === "status") return { command, flags: { ...planning, json: bool("json"), strict: bool("strict") } };
	return {
		command,
		flags: {
			...planning,
			yes: bool("yes"),
			lockTimeoutMs: milliseconds("lock-timeout", str("lock-timeout")),
			statementTimeoutMs: milliseconds("statement-timeout", str("statement-timeout")),
		},
	};
}

const CONFIG_HELP = `Config:
  --config <path>        the file exporting your Better Auth instance (\`export const auth\` or default export);
                         default: the first of auth.ts, lib/auth.ts, src/lib/auth.ts, src/auth.ts,
                         utils/auth.ts, … (.ts, .js, .mjs) under --cwd
  -c, --cwd <dir>        the project directory (default: the current directory)
  --schema <name>        the Postgres schema (namespace) instead of the adapter's`;

const COMMON_HELP = `${CONFIG_HELP}
  --url <postgres://…>   connect to this database instead of the authpg adapter's own connection
                         (also lets you use the CLI when the config uses another adapter)`;

const PLANNING_HELP = `  --concurrently         build indexes on existing tables with CREATE INDEX CONCURRENTLY, after the transaction
  --convert-arrays       convert jsonb array columns (Better Auth's own migrator) to native text[]/bigint[]
  --case-insensitive-indexes
                         lower(…) indexes on user email (and username), for mode: "insensitive" lookups
  --unique-insensitive-email
                         the same, with the email index unique: refused while emails differ only in case`;

const HELP: Record<Command | "main", string> = {
	main: `authpg — Better Auth's schema on Postgres: plan, apply, check, generate

Usage: authpg <command> [options]

Commands:
  plan       print the steps (and their SQL) that would bring the database up to the config; applies nothing
  migrate    apply the plan in one transaction (asks first; --yes to skip)
  status     exit 0 when the database matches the config, 1 when it does not (for CI)
  generate   print or write the full schema SQL, for your own migration tool (no database needed)
  doctor     read-only health checks: pooler, types, indexes, case-duplicate emails, expired rows, settings
  prune      delete expired sessions, verifications, rate-limit and cache rows, retired signing keys
  events     the auth event log (sign-ins, failures, revocations, credential changes), newest first
  keystore rotate-password
             re-encrypt the JWT key store under a new password, in one transaction
  keystore seal
             seal (and hash) the clear values of the fields the config's \`seal\` covers, in batches
  keystore rotate
             new data key for sealed fields, then re-seal every value onto it in batches

Exit codes: 0 ok / in sync, 1 pending, blocked or refused, 2 usage or config error, 3 database error.

${COMMON_HELP}

Run \`authpg <command> --help\` for a command's options.`,
	plan: `Usage: authpg plan [options]

Print the migration plan — each step with its safety class and SQL — and a summary line.
Nothing is applied. Exits 0 whenever a plan could be made (use \`authpg status\` to gate CI).

  --json                 print the plan as JSON
${PLANNING_HELP}

${COMMON_HELP}`,
	migrate: `Usage: authpg migrate [options]

Apply the plan in one transaction, under an advisory lock, re-planning inside the lock.
Asks for confirmation on a terminal; without one, pass --yes.

  -y, --yes              apply without asking
  --lock-timeout <ms>    give up when a lock is not granted within this time (default 10000)
  --statement-timeout <ms>  give up on a statement that runs longer (default 600000)
${PLANNING_HELP}

${COMMON_HELP}`,
	status: `Usage: authpg status [options]

Exit 0 when the database matches the config; 1 when steps are pending or blockers
(type or index mismatches, …) exist. Warnings (extra tables or columns, …) are printed
and only fail the check with --strict.

  --json                 print the plan as JSON
  --strict               warnings fail the check too
${PLANNING_HELP}

${COMMON_HELP}`,
	generate: `Usage: authpg generate [options]

The full SQL that creates Better Auth's schema for the config (schema, tables, foreign keys,
indexes), for teams that run their own migration tool. Always offline: it plans against an
empty schema held in memory, so the SQL is what \`authpg migrate\` applies to an empty database,
and it never connects (not even to the config's own database).

  -o, --output <file>    write to this file (relative to --cwd) instead of stdout
  -y, --yes              overwrite an existing --output file without asking
  --offline              say so explicitly (for scripts); generate never connects either way

${CONFIG_HELP}`,
	doctor: `Usage: authpg doctor [options]

Read-only checks of the database against the config; each finding says what, why, and the fix:
prepared statements on behind a pooler in transaction mode (PgBouncer, Supavisor), timestamp
columns without time zone, id columns of another type than the config's ids, missing indexes on
the columns Better Auth looks rows up by (core tables and enabled plugins), pending schema, jsonb
arrays that could be native, emails that differ only in case.
Also prints the server version, statement_timeout, idle_in_transaction_session_timeout and
the expired rows per table. Exit 0 healthy, 1 with findings, 2 when the checks could not run.

  --json                 print findings and info as JSON

${COMMON_HELP}`,
	prune: `Usage: authpg prune [options]

Delete what has expired — sessions, verifications, rate-limit rows, secondary-storage keys,
and signing keys 30 days past expiry — in batches, one short statement each; print the count
per table. Tables of stores not in use are skipped.

  --dry-run              count what would be deleted, delete nothing
  --batch-size <n>       rows per DELETE (default 5000)
  --schedule "<cron>"    install a pg_cron job running the prune on that schedule ("0 3 * * *");
                         without pg_cron, say so and print the SQL to schedule yourself (exit 1)
  --json                 print the counts as JSON

${COMMON_HELP}`,
	events: `Usage: authpg events [options]

The auth event log (createStores({ events: true })), newest first: time, type, outcome, user,
session, IP, details, user agent.

  --user <id>            only this user's events
  --type <type>          only events of this type (repeat, or comma-separate, for several)
  --since <when>         only events since an ISO date/time, or a duration back (30m, 24h, 7d)
  --limit <n>            at most this many (1–1000, default 50)
  --json                 print JSON (with --follow: one event per line)
  -f, --follow           then print each new event as it is written, until interrupted
  --interval <ms>        how often --follow looks (default 1000)

${COMMON_HELP}`,
	keystore: `Usage: authpg keystore rotate-password [options]
       authpg keystore seal [options]
       authpg keystore rotate [--resume] [options]

seal: seal in place the clear values of the fields the config's \`seal\` option covers (left
from before it was turned on), hash the clear values of its hashed fields, and move sealed
values onto the newest data key. In batches, online (each row is written only if it still holds
what was read), resumable: run it again after an interruption.

rotate: add a new data key for sealed fields (servers pick it up within 30 s), then re-seal every
value onto it, printing progress. Readers accept the old and the new key meanwhile. After an
interruption, \`rotate --resume\` (or \`seal\`) finishes without another new key.
Both need the config (its \`seal\` option) and AUTHPG_KEYSTORE_PASSWORD (asked on a terminal).

  --batch-size <n>       rows per statement (default 500)
  --resume               (rotate) finish a stopped rotation: no new key

Change the password of the key store that holds the JWT plugin's signing keys: check the
current password, derive a new data key (new salt), re-encrypt every key and bump the vault's
version, in one transaction. Servers still running with the old password then fail to sign
JWTs or serve the JWKS until they are restarted with the new one.

Passwords: AUTHPG_KEYSTORE_PASSWORD (the current one) and AUTHPG_KEYSTORE_NEW_PASSWORD; on a
terminal, whichever is not set is asked for without echo (the new one twice). Without a terminal
both must be set (exit 2 otherwise). The config's .env is read, as for the other commands.

  -y, --yes              rotate without asking (needed without a terminal)
  --vault <id>           the vault to rotate (default "default")

${COMMON_HELP}
                         (with --url and no config file found, --schema names the schema; default "public")`,
};

/** Help text for `topic`, or the overview. */
export const helpText = (topic?: Command) => HELP[topic ?? "main"];
