/**
 * Parse, dispatch, and turn every outcome into an exit code: errors are
 * printed as messages (the stack only with `AUTHPG_DEBUG=1`).
 */
import { AuthpgError, KeystoreNotFoundError, KeystorePasswordError, UnsafeMigrationError } from "@authpg/core";
import { parse } from "./args.js";
import { doctor } from "./commands/doctor.js";
import { eventsCommand } from "./commands/events.js";
import { generate } from "./commands/generate.js";
import { rotatePassword } from "./commands/keystore.js";
import { sealFieldsCommand } from "./commands/keystore-fields.js";
import { migrate } from "./commands/migrate.js";
import { plan } from "./commands/plan.js";
import { pruneCommand } from "./commands/prune.js";
import { status } from "./commands/status.js";
import { CliError, Exit, type ExitCode } from "./exit.js";
import { helpText } from "./help.js";
import { cliVersion } from "./version.js";

/** Run the CLI on `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<ExitCode> {
	try {
		const parsed = parse(argv);
		switch (parsed.command) {
			case "help":
				process.stdout.write(`${helpText(parsed.topic)}\n`);
				return Exit.ok;
			case "version":
				process.stdout.write(`${cliVersion()}\n`);
				return Exit.ok;
			case "plan":
				return await plan(parsed.flags);
			case "status":
				return await status(parsed.flags);
			case "migrate":
				return await migrate(parsed.flags);
			case "generate":
				return await generate(parsed.flags);
			case "keystore":
				return parsed.action === "rotate-password"
					? await rotatePassword(parsed.flags)
					: await sealFieldsCommand(parsed.action, parsed.flags);
			case "prune":
				return await pruneCommand(parsed.flags);
			case "doctor":
				return await doctor(parsed.flags);
			case "events":
				return await eventsCommand(parsed.flags);
		}
	} catch (error) {
		return report(error);
	}
}

function report(error: unknown): ExitCode {
	const debug = process.env.AUTHPG_DEBUG === "1";
	const message = error instanceof Error ? error.message : String(error);
	if (error instanceof CliError) {
		process.stderr.write(`authpg: ${message}\n`);
		return error.exitCode;
	}
	// The password or the vault named is wrong: input to fix, not a database failure.
	if (error instanceof KeystorePasswordError || error instanceof KeystoreNotFoundError) {
		process.stderr.write(`authpg: ${message}\n`);
		return Exit.usage;
	}
	if (error instanceof UnsafeMigrationError) {
		process.stderr.write(`authpg: ${message}\n`);
		return Exit.pending;
	}
	process.stderr.write(`authpg: ${message}\n`);
	if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
	else if (!(error instanceof AuthpgError)) process.stderr.write("(AUTHPG_DEBUG=1 prints the stack.)\n");
	return Exit.database;
}
