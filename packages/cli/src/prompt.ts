/**
 * Questions on the terminal: yes/no (default no: Enter, Ctrl-D or Ctrl-C
 * never applies anything), and secrets read without echo.
 */
import { createInterface } from "node:readline";
import { StringDecoder } from "node:string_decoder";
import { err } from "./output.js";

/** Whether the CLI may ask: stdin must be a terminal someone can answer on. */
export const canAsk = () => process.stdin.isTTY === true;

export function confirm(question: string): Promise<boolean> {
	return new Promise((resolve) => {
		const rl = createInterface({ input: process.stdin, output: process.stderr });
		let answered = false;
		rl.on("close", () => {
			if (!answered) process.stderr.write("\n");
			resolve(false);
		});
		rl.on("SIGINT", () => rl.close());
		rl.question(`${question} [y/N] `, (answer) => {
			answered = true;
			resolve(/^y(es)?$/i.test(answer.trim()));
			rl.close();
		});
	});
}

/**
 * Whether to go ahead: at once with `--yes`, else when the user answers yes
 * to `question`. Without a terminal to ask on it prints `refused`, on any
 * other answer `cancelled` (both to stderr), and resolves false.
 */
export async function approved(
	yes: boolean,
	messages: { question: string; refused: string; cancelled: string },
): Promise<boolean> {
	if (yes) return true;
	if (!canAsk()) {
		err(messages.refused);
		return false;
	}
	if (await confirm(messages.question)) return true;
	err(messages.cancelled);
	return false;
}

/** A terminal input: stdin, or a stand-in for it in tests. */
export interface TerminalInput extends NodeJS.ReadableStream {
	isTTY?: boolean;
	isRaw?: boolean;
	setRawMode?(mode: boolean): unknown;
}

/** Whether the CLI may ask for a secret: stdin must be a terminal that can stop echoing. */
export const canAskHidden = (input: TerminalInput = process.stdin) =>
	input.isTTY === true && typeof input.setRawMode === "function";

/**
 * Read one line from the terminal without echoing it (a password). Resolves
 * `undefined` on Ctrl-C, or on Ctrl-D at an empty line. Backspace deletes;
 * other control keys (arrows, Esc sequences) are ignored rather than typed.
 */
export function askHidden(
	question: string,
	input: TerminalInput = process.stdin,
	output: NodeJS.WritableStream = process.stderr,
): Promise<string | undefined> {
	return new Promise((resolve) => {
		output.write(question);
		const wasRaw = input.isRaw === true;
		input.setRawMode?.(true);
		const decoder = new StringDecoder("utf8");
		let chars: string[] = [];
		let pending: "none" | "start" | "sequence" = "none";
		const finish = (value: string | undefined) => {
			input.removeListener("data", onData);
			input.setRawMode?.(wasRaw);
			input.pause();
			output.write("\n");
			resolve(value);
		};
		function onData(chunk: Buffer | string) {
			const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
			for (const ch of text) {
				if (pending === "start") {
					pending = ch === "[" || ch === "O" ? "sequence" : "none";
					continue;
				}
				if (pending === "sequence") {
					// Parameters are digits and `;`; any other character ends the sequence.
					if (!/[0-9;]/.test(ch)) pending = "none";
					continue;
				}
				if (ch === "\r" || ch === "\n") return finish(chars.join(""));
				if (ch === "\u0003") return finish(undefined);
				if (ch === "\u0004") {
					if (chars.length === 0) return finish(undefined);
					continue;
				}
				if (ch === "\u007f" || ch === "\b") {
					chars = chars.slice(0, -1);
					continue;
				}
				if (ch === "\u001b") {
					pending = "start";
					continue;
				}
				if (ch < " ") continue;
				chars.push(ch);
			}
		}
		input.on("data", onData);
		input.resume();
	});
}
