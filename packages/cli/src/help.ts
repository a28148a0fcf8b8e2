/**
 * The CLI's help texts: the overview and one page per command (usage, what
 * it does, options), as `authpg --help` and `authpg <command> --help` print them.
 */
import type { Command } from "./args.js";

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
