/**
 * The schedule: for each operation and concurrency, every subject once to warm
 * up (discarded), then `rounds` rounds in which every subject runs once —
 * interleaved (A B C, B C A, C A B, …, the start rotating each round) so that
 * drift on a noisy machine lands on every subject alike. Before each
 * measurement a young-generation GC; after each operation and concurrency a VACUUM
 * (of the shared server, and of every database a subject has of its own).
 */
import { measure, type Sample } from "./measure.js";
import type { Operation } from "./operations.js";
import type { Progress } from "./progress.js";
import type { SqlClient } from "./seed.js";
import type { Subject } from "./subjects.js";

/** How long and how often. */
export interface Schedule {
	rounds: number;
	seconds: number;
	warmupSeconds: number;
	concurrency: number[];
}

/** The measured rounds of one operation × subject × concurrency. */
export interface Measured {
	operation: Operation;
	subject: Subject;
	concurrency: number;
	samples: Sample[];
}

/** A generous first guess at calls per second, before any subject was measured (sizes consumable supplies). */
const FIRST_GUESS_OPS_PER_SEC = 20_000;

/** Run every operation for every subject that supports it. */
export async function runSchedule(
	ops: Operation[],
	subjects: Subject[],
	schedule: Schedule,
	/** The shared server; a subject with a database of its own brings its own (`ownDatabase.admin`). */
	admin: SqlClient,
	progress: Progress,
	/** Called untimed before each measurement (a GC, so one subject's garbage is not collected on another's time). */
	settle: () => void,
): Promise<Measured[]> {
	const results: Measured[] = [];
	let measurement = 0;
	const steps = ops.length * schedule.concurrency.length;
	let step = 0;
	for (const operation of ops) {
		const runners = subjects.filter((s) => operation.supports?.(s) ?? true);
		for (const concurrency of schedule.concurrency) {
			step++;
			const cells = runners.map((subject) => ({ operation, subject, concurrency, samples: [] as Sample[] }));
			let fastest = 0;
			const once = async (i: number, seconds: number) => {
				const subject = runners[i];
				const guess = fastest > 0 ? fastest * 1.5 : FIRST_GUESS_OPS_PER_SEC;
				const prepared = await operation.prepare({
					subject,
					subjectIndex: subjects.indexOf(subject),
					measurement: measurement++,
					budget: Math.max(500, Math.ceil(guess * seconds)),
					admin: subject.ownDatabase?.admin ?? admin,
				});
				settle();
				try {
					const sample = await measure(prepared, concurrency, seconds * 1000, subject.roundTrips);
					fastest = Math.max(fastest, sample.opsPerSec);
					return sample;
				} finally {
					await prepared.cleanup?.();
				}
			};
			const where = `[${step}/${steps}] ${operation.label} · concurrency ${concurrency}`;
			for (let i = 0; i < runners.length; i++) {
				progress.status(`${where} · warm-up · ${runners[i].label}`);
				await once(i, schedule.warmupSeconds);
			}
			for (let round = 0; round < schedule.rounds; round++) {
				for (let k = 0; k < runners.length; k++) {
					const i = (round + k) % runners.length;
					progress.status(`${where} · round ${round + 1}/${schedule.rounds} · ${runners[i].label}`);
					cells[i].samples.push(await once(i, schedule.seconds));
				}
			}
			// Dead rows from this operation's writes are cleaned here, not during the next operation's rounds.
			progress.status(`${where} · vacuum`);
			await admin.query("vacuum analyze");
			for (const subject of runners) await subject.ownDatabase?.admin.query("vacuum analyze");
			progress.log(`${where}: done`);
			results.push(...cells);
		}
	}
	return results;
}
