/**
 * `authpg keystore seal` and `authpg keystore rotate`: the sealed fields of
 * the config's stores, adopted (clear values sealed in place) or moved onto a
 * new data key, in batches with progress. Both run core's `resealFields`,
 * whose progress is the data itself, so an interrupted run resumes by
 * running again. The password comes from the environment or a prompt that
 * does not echo, and never reaches the output.
 */
import { type ResealProgress, type ResealResult, resealFields, rotateFieldKey } from "@authpg/core";
import type { KeystoreFlags } from "../args.js";
import { loadConfig } from "../config.js";
import { connect, describeDatabase } from "../connection.js";
import { Exit, type ExitCode, usageError } from "../exit.js";
import { styleFor } from "../format.js";
import { err, out } from "../output.js";
import { approved, askHidden, canAskHidden } from "../prompt.js";
import { PASSWORD_ENV } from "./keystore.js";

async function password(): Promise<string | undefined> {
	const given = process.env[PASSWORD_ENV] || undefined;
	if (given) return given;
	if (!canAskHidden()) {
		throw usageError(
			`${PASSWORD_ENV} is not set, and stdin is not a terminal to ask on. Set it to the keystore password the servers run with. Nothing was changed.`,
		);
	}
	return (await askHidden("Keystore password: ")) || undefined;
}

/** One progress line per batch, on stderr so that stdout stays the summary. */
function progress(): (p: ResealProgress) => void {
	return (p) => err(`  ${p.field}: ${p.done}/${p.total}`);
}

function summary(result: ResealResult): string[] {
	return result.fields.map(
		(f) =>
			`  ${f.field}: ${f.resealed} re-sealed, ${f.adopted} sealed or hashed from clear${f.unreadable ? `, ${f.unreadable} unreadable (left as they are: see authpg doctor)` : ""}`,
	);
}

/** `authpg keystore seal` and `authpg keystore rotate [--resume]`. */
export async function sealFieldsCommand(action: "seal" | "rotate", flags: KeystoreFlags): Promise<ExitCode> {
	const project = await loadConfig(flags);
	const seal = project.authpg?.seal;
	if (!seal) {
		throw usageError(
			`${project.shown}: the stores are not created with \`seal\`, so no field is sealed. Add \`seal: true\` (and keystorePassword) to createStores first.`,
		);
	}
	const connection = connect(project, flags);
	try {
		const keystorePassword = await password();
		if (!keystorePassword) {
			err("Cancelled. Nothing was changed.");
			return Exit.pending;
		}
		const vault = flags.vault ?? "default";
		const where = `schema "${connection.namespace}" in ${await describeDatabase(connection)}`;
		const rotating = action === "rotate" && !flags.resume;
		const go = await approved(flags.yes, {
			question: rotating
				? `Add a new data key for sealed fields in ${where} and re-seal every value onto it?`
				: `Seal the clear values and re-seal onto the newest data key in ${where}?`,
			refused: `Refused: not changing sealed fields in ${where} without confirmation, and stdin is not a terminal to ask on. Re-run with --yes. Nothing was changed.`,
			cancelled: "Cancelled. Nothing was changed.",
		});
		if (!go) return Exit.pending;
		const started = performance.now();
		const style = styleFor(process.stdout);
		if (rotating) {
			const id = await rotateFieldKey(connection.driver, {
				password: keystorePassword,
				schema: connection.namespace,
				vault,
			});
			out(`New data key ${id}; servers pick it up within 30 s. Re-sealing:`);
		}
		const result = await resealFields(connection.driver, project.options, {
			keystorePassword,
			seal,
			schema: connection.namespace,
			usePlural: connection.usePlural,
			vault,
			...(flags.batchSize ? { batchSize: flags.batchSize } : {}),
			onProgress: progress(),
		});
		for (const line of summary(result)) out(line);
		const unreadable = result.fields.reduce((n, f) => n + f.unreadable, 0);
		const ms = Math.round(performance.now() - started);
		if (unreadable > 0) {
			err(
				style.yellow(
					`Done in ${ms} ms, but ${unreadable} sealed ${unreadable === 1 ? "value does" : "values do"} not open (altered, or sealed under another vault); restore those rows or clear the fields.`,
				),
			);
			return Exit.pending;
		}
		out(
			style.green(
				`Every sealed value is under data key ${result.keyId}; nothing configured is left in the clear (${ms} ms).`,
			),
		);
		return Exit.ok;
	} finally {
		await connection.close();
	}
}
