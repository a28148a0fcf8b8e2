/** Runs the demo's steps in order, printing each with its result; after a failure the rest are listed as not run. */

/** A failed expectation, with a message for the reader. */
export class StepFailure extends Error {}

/** Throw a {@link StepFailure} with `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
	if (!condition) throw new StepFailure(message);
}

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
export const green = paint(32);
export const red = paint(31);
export const dim = paint(2);
export const bold = paint(1);

export class Runner {
	passed = 0;
	failed = 0;
	notRun = 0;

	/**
	 * Run `fn` unless an earlier step failed. It returns the result line(s) to
	 * print under the title; a thrown error fails the step.
	 */
	async step<T>(title: string, fn: () => Promise<{ result: T; detail: string | string[] }>): Promise<T | undefined> {
		if (this.failed > 0) {
			this.notRun++;
			console.log(`${dim("-")} ${title} ${dim("(not run: an earlier step failed)")}`);
			return undefined;
		}
		const started = performance.now();
		try {
			const { result, detail } = await fn();
			const ms = performance.now() - started;
			console.log(`${green("✓")} ${bold(title)} ${dim(formatMs(ms))}`);
			for (const line of Array.isArray(detail) ? detail : [detail]) console.log(`    ${line}`);
			this.passed++;
			return result;
		} catch (error) {
			this.failed++;
			console.log(`${red("✗")} ${bold(title)}  ${red(describe(error))}`);
			return undefined;
		}
	}

	get ok(): boolean {
		return this.failed === 0 && this.notRun === 0;
	}
}

function formatMs(ms: number): string {
	return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function describe(error: unknown): string {
	if (error instanceof StepFailure) return error.message;
	if (error instanceof Error) return `${error.name}: ${error.message}`;
	return String(error);
}
