/**
 * `authpg keystore rotate-password`: re-encrypt the JWT key store under a new
 * password. Passwords come from the environment or, on a terminal, from a
 * prompt that does not echo; they never reach the output or an error message.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { rotateKeystorePassword } from "@authpg/core";
import type { KeystoreFlags } from "../args.js";
import { foundConfigs, loadConfig, loadDotenv, type Project } from "../config.js";
import { type Connection, connect, describeDatabase, openUrl, redactUrl } from "../connection.js";
import { Exit, type ExitCode, usageError } from "../exit.js";
import { styleFor } from "../format.js";
import { err, out } from "../output.js";
import { approved, askHidden, canAskHidden } from "../prompt.js";

/** The environment variables the passwords are read from. */
export const PASSWORD_ENV = "AUTHPG_KEYSTORE_PASSWORD";
export const NEW_PASSWORD_ENV = "AUTHPG_KEYSTORE_NEW_PASSWORD";

/** The config (when there is one to load) and the connection. */
async function open(flags: KeystoreFlags): Promise<{ project?: Project; connection: Connection }> {
	const cwd = resolve(flags.cwd);
	// Rotating needs no Better Auth options: with --url, a config is optional.
	if (flags.url !== undefined && flags.config === undefined && foundConfigs(cwd).length === 0) {
		if (!existsSync(cwd)) throw usageError(`The directory "${cwd}" (--cwd) does not exist.`);
		loadDotenv(cwd);
		const driver = openUrl(flags.url);
		const connection: Connection = {
			driver,
			namespace: flags.schema ?? "public",
			usePlural: false,
			via: redactUrl(flags.url),
			close: () => driver.close(),
		};
		return { connection };
	}
	const project = await loadConfig(flags);
	return { project, connection: connect(project, flags) };
}

/** Both passwords: from the environment, else asked on the terminal. `undefined` when the user gave up. */
async function passwords(): Promise<{ oldPassword: string; newPassword: string } | undefined> {
	let oldPassword = process.env[PASSWORD_ENV] || undefined;
	let newPassword = process.env[NEW_PASSWORD_ENV] || undefined;
	if (!oldPassword || !newPassword) {
		if (!canAskHidden()) {
			const missing = [oldPassword ? undefined : PASSWORD_ENV, newPassword ? undefined : NEW_PASSWORD_ENV].filter(
				Boolean,
			);
			throw usageError(
				`${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not set, and stdin is not a terminal to ask on. Set ${PASSWORD_ENV} to the current keystore password and ${NEW_PASSWORD_ENV} to the new one. Nothing was changed.`,
			);
		}
		oldPassword ??= await askHidden("Current keystore password: ");
		if (!oldPassword) return undefined;
		if (!newPassword) {
			const first = await askHidden("New keystore password: ");
			if (!first) return undefined;
			const again = await askHidden("New keystore password, again: ");
			if (again === undefined) return undefined;
			if (again !== first) throw usageError("The two new passwords differ. Nothing was changed.");
			newPassword = first;
		}
	}
	if (oldPassword === newPassword) {
		throw usageError("The new keystore password is the same as the current one. Nothing was changed.");
	}
	return { oldPassword, newPassword };
}

/** `authpg keystore rotate-password`. */
export async function rotatePassword(flags: KeystoreFlags): Promise<ExitCode> {
	const { connection } = await open(flags);
	try {
		const given = await passwords();
		if (!given) {
			err("Cancelled. Nothing was changed.");
			return Exit.pending;
		}
		const vault = flags.vault ?? "default";
		const where = `vault "${vault}" in schema "${connection.namespace}" in ${await describeDatabase(connection)}`;
		const go = await approved(flags.yes, {
			question: `Rotate the keystore password of ${where}? Servers running with the current password fail JWT requests until restarted with the new one.`,
			refused: `Refused: not rotating the keystore password of ${where} without confirmation, and stdin is not a terminal to ask on. Re-run with --yes. Nothing was changed.`,
			cancelled: "Cancelled. Nothing was changed.",
		});
		if (!go) return Exit.pending;
		const started = performance.now();
		const result = await rotateKeystorePassword(connection.driver, {
			...given,
			schema: connection.namespace,
			vault,
		});
		const style = styleFor(process.stdout);
		const keys = `${result.keys} ${result.keys === 1 ? "key" : "keys"}`;
		out(
			style.green(
				`Rotated the keystore password of ${where}: ${keys} re-encrypted, vault version ${result.version} (${Math.round(performance.now() - started)} ms).`,
			),
		);
		out(`Restart every server with the new password (${PASSWORD_ENV}); until then their JWT requests fail.`);
		return Exit.ok;
	} finally {
		await connection.close();
	}
}
