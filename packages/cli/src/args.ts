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
