/**
 * One measurement: `concurrency` callers issue calls back to back until the
 * time is up (or the supply of rows runs out); every call is timed.
 */
import type { Prepared } from "./operations.js";
import type { RoundTrips } from "./round-trips.js";

/** What one measurement of one subject gave. */
export interface Sample {
	ops: number;
	elapsedMs: number;
	opsPerSec: number;
	p50Ms: number;
	p99Ms: number;
	/** Every call's latency (ms), ascending. */
	latencies: Float64Array;
	/** Statements the subject sent during the timed calls. */
	statements: number;
	/** CPU time of this process (user + system) per call, in µs: the client-side cost of a call. */
	cpuUsPerCall: number;
}

/** Run `prepared` for `durationMs` with `concurrency` callers. */
export async function measure(
	prepared: Prepared,
	concurrency: number,
	durationMs: number,
	roundTrips: RoundTrips,
): Promise<Sample> {
	const limit = prepared.limit ?? Number.POSITIVE_INFINITY;
	const latencies: number[] = [];
	let next = 0;
	const statementsBefore = roundTrips.count;
	const cpuBefore = process.cpuUsage();
	const start = performance.now();
	const deadline = start + durationMs;
	const caller = async () => {
		for (;;) {
			const t0 = performance.now();
			if (t0 >= deadline) return;
			const i = next++;
			if (i >= limit) return;
			await prepared.call(i);
			latencies.push(performance.now() - t0);
		}
	};
	await Promise.all(Array.from({ length: concurrency }, caller));
	const elapsedMs = performance.now() - start;
	const cpu = process.cpuUsage(cpuBefore);
	const statements = roundTrips.count - statementsBefore;
	const sorted = Float64Array.from(latencies).sort();
	return {
		ops: sorted.length,
		elapsedMs,
		opsPerSec: (sorted.length / elapsedMs) * 1000,
		p50Ms: quantile(sorted, 0.5),
		p99Ms: quantile(sorted, 0.99),
		statements,
		cpuUsPerCall: sorted.length ? (cpu.user + cpu.system) / sorted.length : Number.NaN,
		latencies: sorted,
	};
}

/** The `q` quantile of ascending `sorted` (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
	if (sorted.length === 0) return Number.NaN;
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
	return sorted[rank];
}

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
