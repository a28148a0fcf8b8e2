import { afterAll, it } from "vitest";

/** Marks a test title as not applicable to the target; {@link reportCounts} counts these apart from skips. */
const NOT_APPLICABLE = " [not applicable: ";

/**
 * Register `title` as a test that does not apply to this target, with the
 * reason in its name (so every reporter shows it). It is not run, and the
 * summary counts and lists it as not applicable, never as passed or skipped.
 */
export function notApplicable(title: string, reason: string): void {
	it.skip(`${title}${NOT_APPLICABLE}${reason}]`, () => {});
}

/** `it` when `applies`; otherwise registers the test as {@link notApplicable} for `reason`. */
export function itWhen(applies: boolean, reason: string): (title: string, fn: () => Promise<void>) => void {
	return applies ? (title, fn) => it(title, fn) : (title) => notApplicable(title, reason);
}

interface TaskLike {
	type: string;
	name?: string;
	mode?: string;
	result?: { state?: string };
	tasks?: TaskLike[];
}

interface Counts {
	passed: number;
	failed: number;
	skipped: number;
	notApplicable: string[];
}

function tally(task: TaskLike, counts: Counts) {
	if (task.type === "test") {
		if (task.mode === "skip" && task.name?.includes(NOT_APPLICABLE)) counts.notApplicable.push(task.name);
		else if (task.mode === "skip" || task.mode === "todo" || task.result?.state === "skip") counts.skipped++;
		else if (task.result?.state === "pass") counts.passed++;
		else counts.failed++;
	}
	for (const child of task.tasks ?? []) tally(child, counts);
}

/**
 * Print `label: N passed, N failed, N skipped` when the enclosing describe
 * ends, so CI logs show per-driver counts (a skipped test counts against us).
 * Tests registered with {@link notApplicable} are counted and listed apart.
 */
export function reportCounts(label: string): void {
	// Vitest 4 passes the suite second and insists the first parameter destructures its fixtures.
	// biome-ignore lint/correctness/noEmptyPattern: no fixtures are needed, only the suite
	afterAll(({}, suite) => {
		const counts: Counts = { passed: 0, failed: 0, skipped: 0, notApplicable: [] };
		tally(suite as unknown as TaskLike, counts);
		const na = counts.notApplicable.length;
		console.log(
			`[conformance] ${label}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${na ? `, ${na} not applicable` : ""}`,
		);
		for (const name of counts.notApplicable) console.log(`[conformance]   not applicable: ${name}`);
	});
}
