/**
 * A yes/no question on the terminal. Default no: Enter, Ctrl-D or Ctrl-C
 * never applies anything.
 */
import { createInterface } from "node:readline";

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
