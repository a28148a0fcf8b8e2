/**
 * Progress on stderr: one line rewritten in place on a terminal, a line per
 * finished step elsewhere (CI logs), so stdout carries only the results.
 */
export class Progress {
	private readonly tty = process.stderr.isTTY === true;
	private readonly started = performance.now();
	private lastLength = 0;

	/** Replace the status line (terminal only). */
	status(text: string): void {
		if (!this.tty) return;
		const line = `${this.clock()} ${text}`.slice(0, (process.stderr.columns ?? 120) - 1);
		process.stderr.write(`\r${line}${" ".repeat(Math.max(0, this.lastLength - line.length))}`);
		this.lastLength = line.length;
	}

	/** A line that stays. */
	log(text: string): void {
		if (this.tty && this.lastLength) process.stderr.write(`\r${" ".repeat(this.lastLength)}\r`);
		this.lastLength = 0;
		process.stderr.write(`${this.clock()} ${text}\n`);
	}

	private clock(): string {
		const s = Math.round((performance.now() - this.started) / 1000);
		return `[${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}]`;
	}
}
