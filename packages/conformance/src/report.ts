import { afterAll } from "vitest";

interface TaskLike {
	type: string;
	mode?: string;
	result?: { state?: string };
	tasks?: TaskLike[];
}

function tally(task: TaskLike, counts: { passed: number; failed: number; skipped: number }) {
	if (task.type === "test") {
		if (task.mode === "skip" || task.mode === "todo" || task.result?.state === "skip") counts.skipped++;
		else if (task.result?.state === "pass") counts.passed++;
		else counts.failed++;
	}
	for (const child of task.tasks ?? []) tally(child, counts);
}

/**
 * Print `label: N passed, N failed, N skipped` when the enclosing describe
 * ends, so CI logs show per-driver counts (a skipped test counts against us).
 */
export function reportCounts(label: string): void {
	// Vitest 4 passes the suite second and insists the first parameter destructures its fixtures.
	// biome-ignore lint/correctness/noEmptyPattern: no fixtures are needed, only the suite
	afterAll(({}, suite) => {
		const counts = { passed: 0, failed: 0, skipped: 0 };
		tally(suite as unknown as TaskLike, counts);
		console.log(`[conformance] ${label}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
	});
}
