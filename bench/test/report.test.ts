import { describe, expect, it } from "vitest";
import { chartSvg } from "../src/chart.js";
import { median, quantile, type Sample } from "../src/measure.js";
import type { Operation } from "../src/operations.js";
import { checkTargets, markdownTable, ownFloorTable, type ResultRow, summarise } from "../src/report.js";
import type { Measured } from "../src/run.js";
import type { Subject } from "../src/subjects.js";

function sample(opsPerSec: number, calls: number, statements: number, latencies: number[]): Sample {
	const sorted = Float64Array.from(latencies).sort();
	return {
		ops: calls,
		elapsedMs: (calls / opsPerSec) * 1000,
		opsPerSec,
		p50Ms: quantile(sorted, 0.5),
		p99Ms: quantile(sorted, 0.99),
		statements,
		cpuUsPerCall: 10,
		latencies: sorted,
	};
}

const op = (key: string): Operation => ({
	key,
	label: key,
	singleRow: true,
	prepare: async () => ({ call: async () => {} }),
});
const subject = (key: string, ownFloor?: string): Subject => ({ key, label: key, ownFloor }) as Subject;

describe("median and quantile", () => {
	it("take the middle, and the nearest rank", () => {
		expect(median([5, 1, 3])).toBe(3);
		expect(median([4, 1, 3, 2])).toBe(2.5);
		const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
		expect(quantile(sorted, 0.5)).toBe(50);
		expect(quantile(sorted, 0.99)).toBe(99);
		expect(quantile(new Float64Array(), 0.5)).toBeNaN();
	});
});

describe("summarise", () => {
	const measured: Measured[] = [
		{
			operation: op("findOneByToken"),
			subject: subject("floor"),
			concurrency: 1,
			samples: [sample(1000, 2, 2, [1, 1]), sample(3000, 2, 2, [1, 2]), sample(2000, 2, 2, [3, 4])],
		},
		{
			operation: op("findOneByToken"),
			subject: subject("pool"),
			concurrency: 1,
			samples: [sample(900, 2, 2, [1, 1]), sample(1800, 2, 2, [1, 1]), sample(1500, 2, 2, [1, 9])],
		},
		{
			operation: op("findOneByToken"),
			subject: subject("better-auth"),
			concurrency: 1,
			samples: [sample(500, 2, 4, [2, 2]), sample(600, 2, 4, [2, 2]), sample(400, 2, 4, [2, 2])],
		},
	];
	const rows = summarise(measured);
	const pool = rows.find((r) => r.subject === "pool")!;

	it("takes the median round, and ratios of medians to Better Auth and to the floor", () => {
		expect(pool.opsPerSec).toBe(1500);
		expect(pool.opsPerSecRounds).toEqual([900, 1800, 1500]);
		expect(pool.vsBetterAuth).toBe(3);
		expect(pool.vsFloor).toBe(0.75);
		expect(rows.find((r) => r.subject === "floor")!.vsFloor).toBe(1);
	});

	it("takes no ratio for a subject on a database of its own, and leaves the others' alone", () => {
		const own = { ...subject("pglite"), ownDatabase: { admin: {} } } as Subject;
		const withOwn = summarise([
			...measured,
			{ operation: op("findOneByToken"), subject: own, concurrency: 1, samples: [sample(4000, 2, 2, [1, 1])] },
		]);
		expect(withOwn.find((r) => r.subject === "pglite")).toMatchObject({
			opsPerSec: 4000,
			vsBetterAuth: null,
			vsFloor: null,
		});
		expect(withOwn.find((r) => r.subject === "pool")).toMatchObject({ vsBetterAuth: 3, vsFloor: 0.75 });
	});

	it("takes each subject's ratio to the floor of its own driver, where the run has that floor", () => {
		const at = (key: string, ownFloor: string | undefined, opsPerSec: number): Measured => ({
			operation: op("findOneByToken"),
			subject: subject(key, ownFloor),
			concurrency: 1,
			samples: [sample(opsPerSec, 2, 2, [1, 1])],
		});
		const own = summarise([
			at("floor", "floor", 2000),
			at("floor-postgres-js", "floor-postgres-js", 2500),
			at("pool", "floor", 1500),
			at("postgres-js", "floor-postgres-js", 2000),
			at("neon-ws", undefined, 500),
		]);
		const get = (key: string) => own.find((r) => r.subject === key)!;
		expect(get("postgres-js")).toMatchObject({ ownFloor: "floor-postgres-js", vsOwnFloor: 0.8, vsFloor: 1 });
		expect(get("pool")).toMatchObject({ ownFloor: "floor", vsOwnFloor: 0.75 });
		expect(get("floor-postgres-js")).toMatchObject({ vsOwnFloor: 1, vsFloor: 1.25 });
		expect(get("neon-ws")).toMatchObject({ ownFloor: null, vsOwnFloor: null });
		const withoutFloor = summarise([at("postgres-js", "floor-postgres-js", 2000)]);
		expect(withoutFloor[0].vsOwnFloor).toBeNull();
	});

	it("counts round trips per call and pools latencies over the rounds", () => {
		expect(pool.roundTrips).toBe(1);
		expect(rows.find((r) => r.subject === "better-auth")!.roundTrips).toBe(2);
		expect(pool.calls).toBe(6);
		expect(pool.p50Ms).toBe(1);
		expect(pool.p99Ms).toBe(9);
	});
});

describe("checkTargets", () => {
	const row = (operation: string, subject: string, roundTrips: number, vsBetterAuth: number, vsFloor: number) =>
		({ operation, subject, concurrency: 16, roundTrips, vsBetterAuth, vsFloor }) as ResultRow;

	it("holds @authpg/postgres-js to 90 % of the postgres.js floor on every operation that floor ran", () => {
		const rows = [
			{ ...row("count", "floor-postgres-js", 1, 2, 1), operationLabel: "count sessions", vsOwnFloor: 1 },
			{ ...row("count", "postgres-js", 1, 2, 1), operationLabel: "count sessions", vsOwnFloor: 0.93 },
			{ ...row("findOneJoin", "floor-postgres-js", 1, 2, 1), vsOwnFloor: 1 },
			{ ...row("findOneJoin", "postgres-js", 1, 2, 1), vsOwnFloor: 0.85 },
			{ ...row("getSession", "postgres-js", 1, 2, 1), vsOwnFloor: null },
		] as ResultRow[];
		const checks = checkTargets(rows, { singleRowOps: [], authpgRateLimit: new Set() }).filter((c) =>
			c.target.includes("postgres.js floor"),
		);
		expect(checks).toEqual([
			expect.objectContaining({ target: expect.stringContaining("count sessions"), value: 0.93, met: true }),
			expect.objectContaining({ target: expect.stringContaining("findOneJoin"), value: 0.85, met: false }),
		]);
	});

	it("holds neither floor nor Better Auth with joins to the authpg round-trip target", () => {
		const checks = checkTargets(
			[row("findOneJoin", "better-auth-joins", 2, 1, 1), row("findOneJoin", "floor-postgres-js", 1, 1, 1)],
			{ singleRowOps: ["findOneJoin"], authpgRateLimit: new Set() },
		);
		expect(checks.filter((c) => c.target.includes("round trip"))).toEqual([]);
	});

	it("reports each target with its figure, and a single-row operation over one round trip as missed", () => {
		const rows = [
			row("findOneByToken", "pool", 1, 2.5, 0.9),
			row("findOneJoin", "pool", 2, 2.9, 0.7),
			row("rateLimit", "pool", 2, 1.5, 0.5),
		];
		const checks = checkTargets(rows, {
			singleRowOps: ["findOneByToken", "findOneJoin", "rateLimit"],
			authpgRateLimit: new Set(["pool"]),
		});
		const byName = (text: string) => checks.find((c) => c.target.includes(text))!;
		expect(byName("2.0× Better Auth: findOne session by token")).toMatchObject({ value: 2.5, met: true });
		expect(byName("3.0× Better Auth: findOne session + user")).toMatchObject({ value: 2.9, met: false });
		expect(byName("80 % of the floor: findOne session + user")).toMatchObject({ value: 0.7, met: false });
		expect(byName("rate-limit consume")).toMatchObject({ value: 1.5, met: false });
		expect(byName("getSession")).toMatchObject({ value: null, met: false, note: "not measured in this run" });
		const trips = byName("pool: exactly 1 round trip");
		expect(trips.met).toBe(false);
		expect(trips.target).toContain("findOneJoin, rateLimit");
	});

	it("does not hold Better Auth's own rate-limit storage to our round-trip target", () => {
		const checks = checkTargets([row("rateLimit", "pool", 2, 1.5, 0.5)], {
			singleRowOps: ["rateLimit"],
			authpgRateLimit: new Set(),
		});
		expect(checks.find((c) => c.target.startsWith("pool: exactly 1"))!.met).toBe(true);
		expect(checks.find((c) => c.target.includes("rate-limit consume"))!.note).toMatch(/issue 5/);
	});
});

describe("markdownTable", () => {
	it("pads cells the way Biome formats Markdown tables", () => {
		expect(
			markdownTable(
				["a", "bb ×"],
				[true, false],
				[
					["12345", "µs"],
					["1", "x"],
				],
			),
		).toBe(["|     a | bb × |", "| ----: | ---- |", "| 12345 | µs   |", "|     1 | x    |"].join("\n"));
	});
});

describe("ownFloorTable", () => {
	it("shows each authpg subject as a share of its own driver's floor, and leaves out floors and subjects without one", () => {
		const base = { concurrency: 16, operationLabel: "count", roundTrips: 1 } as const;
		const rows = [
			{ ...base, operation: "count", subject: "floor", ownFloor: "floor", vsOwnFloor: 1 },
			{ ...base, operation: "count", subject: "pool", subjectLabel: "pool", ownFloor: "floor", vsOwnFloor: 0.91 },
			{ ...base, operation: "count", subject: "postgres-js", ownFloor: "floor-postgres-js", vsOwnFloor: 0.956 },
			{ ...base, operation: "count", subject: "drizzle", ownFloor: null, vsOwnFloor: null },
		] as ResultRow[];
		expect(ownFloorTable(rows, 16).split("\n")).toEqual([
			"| 16 callers: share of its driver's floor | @authpg/pool ÷ floor (pg) | @authpg/postgres-js ÷ floor (postgres.js) |",
			"| --------------------------------------- | ------------------------: | ----------------------------------------: |",
			"| count                                   |                      91 % |                                      96 % |",
		]);
	});
});

describe("chartSvg", () => {
	it("draws one bar per subject other than Better Auth, and escapes labels", () => {
		const rows = [
			{ ...row("pool", 3), subjectLabel: "<pool>" },
			row("better-auth", 1),
			row("drizzle", 0.5),
		] as ResultRow[];
		const svg = chartSvg(rows, "a & b");
		expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="9"/g)).toHaveLength(2);
		expect(svg).toContain("&lt;pool&gt;");
		expect(svg).toContain("a &amp; b");
		expect(svg).toContain("3.00×");
		expect(svg).toContain("0.50×");
	});
	it("leaves out of bars and legend a subject with no ratio (a database of its own)", () => {
		const rows = [row("pool", 3), row("better-auth", 1), { ...row("pglite", 2), vsBetterAuth: null }] as ResultRow[];
		const svg = chartSvg(rows, "caption");
		expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="9"/g)).toHaveLength(1);
		expect(svg).toContain(">pool<");
		expect(svg).not.toContain("pglite");
	});
	function row(subject: string, vsBetterAuth: number): ResultRow {
		return {
			operation: "findOneByToken",
			operationLabel: "findOne",
			subject,
			subjectLabel: subject,
			concurrency: 1,
			opsPerSec: 100 * vsBetterAuth,
			p50Ms: 1,
			p99Ms: 2,
			roundTrips: 1,
			cpuUsPerCall: 1,
			vsBetterAuth,
			vsFloor: null,
			ownFloor: null,
			vsOwnFloor: null,
			opsPerSecRounds: [],
			calls: 1,
		};
	}
});
