/**
 * From measurements to results: medians over the rounds, round trips per
 * call, ratios to Better Auth's path and to the floor, the targets, and the
 * tables (stdout and README).
 */

import { BETTER_AUTH, BETTER_AUTH_JOINS, FLOOR, FLOOR_POSTGRES_JS, POOL_EVENTS, POOL_SEALED } from "./keys.js";
import { median, quantile } from "./measure.js";
import type { Measured } from "./run.js";

/** One operation × subject × concurrency, as written to results/latest.json. */
export interface ResultRow {
	operation: string;
	operationLabel: string;
	subject: string;
	subjectLabel: string;
	concurrency: number;
	/** Median over the measured rounds. */
	opsPerSec: number;
	/** Latency percentiles over every call of the measured rounds. */
	p50Ms: number;
	p99Ms: number;
	/** Statements sent per call, over all measured rounds. */
	roundTrips: number;
	/** Median over the rounds of this process's CPU time per call (µs): the client-side cost. */
	cpuUsPerCall: number;
	/**
	 * opsPerSec ÷ Better Auth's built-in path's opsPerSec, same operation and
	 * concurrency; null for a subject on a database of its own (PGlite): that would compare two servers.
	 */
	vsBetterAuth: number | null;
	/** opsPerSec ÷ the floor's opsPerSec (null where the floor has no such operation, or the subject has its own database). */
	vsFloor: number | null;
	/** Key of the raw floor of the subject's own driver (`floor` for pg, `floor-postgres-js` for postgres.js); null if none. */
	ownFloor: string | null;
	/** opsPerSec ÷ that floor's opsPerSec, same operation and concurrency (null where there is no such figure). */
	vsOwnFloor: number | null;
	/** Each measured round's ops/s, in round order: the spread behind the median. */
	opsPerSecRounds: number[];
	calls: number;
}

/** A target from the issue, checked against this run (reported, never asserted). */
export interface TargetCheck {
	target: string;
	concurrency: number | null;
	value: number | null;
	met: boolean;
	/** Why the figure does not (yet) measure what the target is about. */
	note?: string;
}

/** What `checkTargets` needs to know about the subjects. */
export interface TargetContext {
	singleRowOps: string[];
	/** Subjects whose rate-limit consume runs on an authpg storage (else it is Better Auth's storage over the adapter). */
	authpgRateLimit: Set<string>;
}

const round = (x: number, digits: number) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** Aggregate measurements into result rows. */
export function summarise(measured: Measured[]): ResultRow[] {
	const rows = measured.map((m): ResultRow => {
		const calls = m.samples.reduce((n, s) => n + s.ops, 0);
		const statements = m.samples.reduce((n, s) => n + s.statements, 0);
		const pooled = new Float64Array(calls);
		let at = 0;
		for (const s of m.samples) {
			pooled.set(s.latencies, at);
			at += s.latencies.length;
		}
		pooled.sort();
		return {
			operation: m.operation.key,
			operationLabel: m.operation.label,
			subject: m.subject.key,
			subjectLabel: m.subject.label,
			concurrency: m.concurrency,
			opsPerSec: median(m.samples.map((s) => s.opsPerSec)),
			p50Ms: quantile(pooled, 0.5),
			p99Ms: quantile(pooled, 0.99),
			roundTrips: calls ? statements / calls : Number.NaN,
			cpuUsPerCall: median(m.samples.map((s) => s.cpuUsPerCall)),
			vsBetterAuth: null,
			vsFloor: null,
			ownFloor: m.subject.ownFloor ?? null,
			vsOwnFloor: null,
			opsPerSecRounds: m.samples.map((s) => round(s.opsPerSec, 1)),
			calls,
		};
	});
	const find = (r: ResultRow, subject: string) =>
		rows.find((x) => x.operation === r.operation && x.concurrency === r.concurrency && x.subject === subject);
	const ownDatabase = new Set(measured.filter((m) => m.subject.ownDatabase).map((m) => m.subject.key));
	for (const r of rows) {
		if (ownDatabase.has(r.subject)) continue;
		const ba = find(r, BETTER_AUTH);
		const floor = find(r, FLOOR);
		r.vsBetterAuth = ba ? round(r.opsPerSec / ba.opsPerSec, 3) : null;
		r.vsFloor = floor ? round(r.opsPerSec / floor.opsPerSec, 3) : null;
		const own = r.ownFloor === null ? undefined : find(r, r.ownFloor);
		r.vsOwnFloor = own ? round(r.opsPerSec / own.opsPerSec, 3) : null;
	}
	for (const r of rows) {
		r.opsPerSec = round(r.opsPerSec, 1);
		r.p50Ms = round(r.p50Ms, 3);
		r.p99Ms = round(r.p99Ms, 3);
		r.roundTrips = round(r.roundTrips, 3);
		r.cpuUsPerCall = round(r.cpuUsPerCall, 1);
	}
	return rows;
}

/** The issue's targets for `@authpg/pool` (and the round-trip target for every authpg subject). */
export function checkTargets(rows: ResultRow[], context: TargetContext): TargetCheck[] {
	const checks: TargetCheck[] = [];
	const concurrencies = [...new Set(rows.map((r) => r.concurrency))];
	const get = (op: string, subject: string, c: number) =>
		rows.find((r) => r.operation === op && r.subject === subject && r.concurrency === c);
	const ratio = (label: string, op: string, key: "vsBetterAuth" | "vsFloor", min: number, note?: string) => {
		for (const c of concurrencies) {
			const value = get(op, "pool", c)?.[key] ?? null;
			const why = note ?? (value === null ? "not measured in this run" : undefined);
			checks.push({ target: label, concurrency: c, value, met: !why && value !== null && value >= min, note: why });
		}
	};
	ratio("@authpg/pool ≥ 2.0× Better Auth: findOne session by token", "findOneByToken", "vsBetterAuth", 2.0);
	ratio("@authpg/pool ≥ 3.0× Better Auth: findOne session + user", "findOneJoin", "vsBetterAuth", 3.0);
	ratio("@authpg/pool ≥ 1.5× Better Auth: getSession", "getSession", "vsBetterAuth", 1.5);
	ratio("@authpg/pool ≥ 80 % of the floor: findOne session by token", "findOneByToken", "vsFloor", 0.8);
	ratio("@authpg/pool ≥ 80 % of the floor: findOne session + user", "findOneJoin", "vsFloor", 0.8);
	ratio(
		"@authpg/pool ≥ 2× Better Auth's storage: rate-limit consume",
		"rateLimit",
		"vsBetterAuth",
		2.0,
		context.authpgRateLimit.has("pool")
			? undefined
			: "not measurable yet: the stores have no rateLimitStorage (issue 5), so this is Better Auth's storage over our adapter",
	);
	// @authpg/postgres-js against its own floor, on every operation that floor has (all but getSession).
	const pgjsOps = [...new Set(rows.filter((r) => r.subject === FLOOR_POSTGRES_JS).map((r) => r.operation))];
	for (const op of pgjsOps) {
		for (const c of concurrencies) {
			const value = get(op, "postgres-js", c)?.vsOwnFloor ?? null;
			checks.push({
				target: `@authpg/postgres-js ≥ 90 % of the postgres.js floor: ${rows.find((r) => r.operation === op)?.operationLabel ?? op}`,
				concurrency: c,
				value,
				met: value !== null && value >= 0.9,
				note: value === null ? "not measured in this run" : undefined,
			});
		}
	}
	// getSession writes nothing and reads no sealed field: a variant of the pool subject leaves it as it was.
	const unchangedGetSession = (variant: string, what: string, c: number): TargetCheck => {
		const on = get("getSession", variant, c);
		const off = get("getSession", "pool", c);
		const value = on && off ? round(on.opsPerSec / off.opsPerSec, 3) : null;
		return {
			target: `getSession unchanged by ${what}: the same round trips, throughput within noise (≥ 90 %) (@authpg/pool)`,
			concurrency: c,
			value,
			met: value !== null && on?.roundTrips === off?.roundTrips && value >= 0.9,
			note: value === null ? "not measured in this run" : undefined,
		};
	};
	// The event log (issue 18): what recording costs a sign-in, and that a getSession writes nothing;
	// only in a run that measured the log (`--events`, or a full run), as for the postgres.js floor.
	const eventConcurrencies = rows.some((r) => r.subject === POOL_EVENTS) ? concurrencies : [];
	for (const c of eventConcurrencies) {
		const on = get("signIn", POOL_EVENTS, c);
		const off = get("signIn", "pool", c);
		const value = on && off ? round(on.opsPerSec / off.opsPerSec, 3) : null;
		checks.push({
			target: "sign-in with the event log ≥ 85 % of the throughput without (@authpg/pool)",
			concurrency: c,
			value,
			met: value !== null && value >= 0.85,
			note: value === null ? "not measured in this run" : undefined,
		});
	}
	for (const c of eventConcurrencies) checks.push(unchangedGetSession(POOL_EVENTS, "the event log", c));
	// Sealed fields (issue 19): sign-in and getSession touch no sealed field, so they must not move.
	const sealConcurrencies = rows.some((r) => r.subject === POOL_SEALED) ? concurrencies : [];
	for (const c of sealConcurrencies) {
		const on = get("signIn", POOL_SEALED, c);
		const off = get("signIn", "pool", c);
		const value = on && off ? round(on.opsPerSec / off.opsPerSec, 3) : null;
		checks.push({
			target: "sign-in unchanged by seal: it touches no sealed field, throughput within noise (≥ 90 %) (@authpg/pool)",
			concurrency: c,
			value,
			met: value !== null && value >= 0.9,
			note: value === null ? "not measured in this run" : undefined,
		});
	}
	for (const c of sealConcurrencies) checks.push(unchangedGetSession(POOL_SEALED, "seal", c));
	const references = new Set([FLOOR, FLOOR_POSTGRES_JS, BETTER_AUTH, BETTER_AUTH_JOINS, "drizzle"]);
	const authpg = [...new Set(rows.map((r) => r.subject))].filter((s) => !references.has(s));
	for (const subject of authpg) {
		// Better Auth's own rate-limit storage (the hook until issue 5) reads then writes: not ours to count.
		const ops = context.singleRowOps.filter((op) => op !== "rateLimit" || context.authpgRateLimit.has(subject));
		const off = rows.filter(
			(r) => r.subject === subject && ops.includes(r.operation) && Math.abs(r.roundTrips - 1) > 0.005,
		);
		checks.push({
			target: `${subject}: exactly 1 round trip per single-row operation${off.length ? ` (not: ${[...new Set(off.map((r) => r.operation))].join(", ")})` : ""}`,
			concurrency: null,
			value: off.length ? Math.max(...off.map((r) => r.roundTrips)) : 1,
			met: off.length === 0,
		});
	}
	return checks;
}

/** Column headings for the README's wide tables. */
const SHORT: Record<string, string> = {
	floor: "floor (pg)",
	"floor-postgres-js": "floor (postgres.js)",
	pool: "@authpg/pool",
	"pool-events": "@authpg/pool, events on",
	"pool-sealed": "@authpg/pool, seal on",
	"node-postgres": "@authpg/node-postgres",
	"postgres-js": "@authpg/postgres-js",
	"neon-ws": "@authpg/neon (WebSocket, local proxy)",
	"neon-http": "@authpg/neon (HTTP, local endpoint)",
	pglite: "@authpg/pglite (own database)",
	"better-auth": "Better Auth (Kysely)",
	"better-auth-joins": "Better Auth, joins on (Kysely)",
	drizzle: "Drizzle adapter",
};

const grouped = (n: number) => Math.round(n).toLocaleString("en-US").replace(/,/g, " ");
const ms = (n: number) => (n >= 10 ? n.toFixed(1) : n.toFixed(2));
const times = (n: number | null) => (n === null ? "—" : `${n.toFixed(2)}×`);
const percent = (n: number | null) => (n === null ? "—" : `${Math.round(n * 100)} %`);
const trips = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/**
 * A Markdown table with padded cells, laid out exactly as Biome formats
 * Markdown (the README is linted), and readable in a terminal.
 */
export function markdownTable(header: string[], right: boolean[], body: string[][]): string {
	const widths = header.map((h, c) => Math.max(3, [...h].length, ...body.map((row) => [...row[c]].length)));
	const pad = (text: string, c: number) => {
		const fill = " ".repeat(widths[c] - [...text].length);
		return right[c] ? fill + text : text + fill;
	};
	const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
	const rule = `| ${widths.map((w, c) => (right[c] ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
	return [line(header), rule, ...body.map(line)].join("\n");
}

/** Every row, grouped by concurrency and operation, as a Markdown table. */
export function fullTable(rows: ResultRow[]): string {
	return markdownTable(
		[
			"concurrency",
			"operation",
			"subject",
			"ops/s",
			"p50 ms",
			"p99 ms",
			"round trips",
			"client CPU µs/call",
			"vs Better Auth",
			"vs floor",
			"vs own floor",
		],
		[true, false, false, true, true, true, true, true, true, true, true],
		rows.map((r) => [
			String(r.concurrency),
			r.operationLabel,
			r.subjectLabel,
			grouped(r.opsPerSec),
			ms(r.p50Ms),
			ms(r.p99Ms),
			trips(r.roundTrips),
			String(Math.round(r.cpuUsPerCall)),
			times(r.vsBetterAuth),
			percent(r.vsFloor),
			percent(r.vsOwnFloor),
		]),
	);
}

/** Operations down, subjects across: ops/s and the ratio to Better Auth, for one concurrency. */
export function compactTable(rows: ResultRow[], concurrency: number): string {
	const here = rows.filter((r) => r.concurrency === concurrency);
	const subjects = unique(here.map((r) => [r.subject, SHORT[r.subject] ?? r.subjectLabel] as const));
	const ops = unique(here.map((r) => [r.operation, r.operationLabel] as const));
	return markdownTable(
		[`${concurrency} caller${concurrency === 1 ? "" : "s"}: ops/s (× Better Auth)`, ...subjects.map(([, l]) => l)],
		[false, ...subjects.map(() => true)],
		ops.map(([op, label]) => [
			label,
			...subjects.map(([s]) => {
				const r = here.find((x) => x.operation === op && x.subject === s);
				if (!r) return "—";
				return s === BETTER_AUTH ? grouped(r.opsPerSec) : `${grouped(r.opsPerSec)} (${times(r.vsBetterAuth)})`;
			}),
		]),
	);
}

/**
 * Operations down, the authpg subjects that have a floor of their driver across: ops/s and the share of
 * that floor's (pg's for the pg-based packages, postgres.js's for `@authpg/postgres-js`), for one concurrency.
 */
export function ownFloorTable(rows: ResultRow[], concurrency: number): string {
	const here = rows.filter((r) => r.concurrency === concurrency);
	const floors = new Set(here.map((r) => r.ownFloor).filter((f) => f !== null));
	const subjects = unique(
		here
			.filter((r) => r.ownFloor !== null && !floors.has(r.subject))
			.map((r) => [r.subject, `${SHORT[r.subject] ?? r.subjectLabel} ÷ ${SHORT[r.ownFloor!] ?? r.ownFloor}`] as const),
	);
	const ops = unique(
		here
			.filter((r) => r.vsOwnFloor !== null && !floors.has(r.subject))
			.map((r) => [r.operation, r.operationLabel] as const),
	);
	return markdownTable(
		[
			`${concurrency} caller${concurrency === 1 ? "" : "s"}: share of its driver's floor`,
			...subjects.map(([, l]) => l),
		],
		[false, ...subjects.map(() => true)],
		ops.map(([op, label]) => [
			label,
			...subjects.map(([s]) => percent(here.find((x) => x.operation === op && x.subject === s)?.vsOwnFloor ?? null)),
		]),
	);
}

/** Round trips per call, operations down, subjects across (taken at the highest concurrency). */
export function roundTripTable(rows: ResultRow[]): string {
	const c = Math.max(...rows.map((r) => r.concurrency));
	const here = rows.filter((r) => r.concurrency === c);
	const subjects = unique(here.map((r) => [r.subject, SHORT[r.subject] ?? r.subjectLabel] as const));
	const ops = unique(here.map((r) => [r.operation, r.operationLabel] as const));
	return markdownTable(
		["round trips per call", ...subjects.map(([, l]) => l)],
		[false, ...subjects.map(() => true)],
		ops.map(([op, label]) => [
			label,
			...subjects.map(([s]) => {
				const r = here.find((x) => x.operation === op && x.subject === s);
				return r ? trips(r.roundTrips) : "—";
			}),
		]),
	);
}

/**
 * What a variant of `@authpg/pool` costs (`pool-events`: the event log; `pool-sealed`: sealed
 * fields): for each operation both `pool` and the variant ran, ops/s without and with it, their
 * ratio, round trips and client CPU per call; empty when either subject is missing.
 */
export function variantTable(rows: ResultRow[], variant: string, off: string, on: string): string {
	const pairs = rows
		.filter((r) => r.subject === "pool")
		.map((base) => ({
			base,
			with: rows.find(
				(r) => r.subject === variant && r.operation === base.operation && r.concurrency === base.concurrency,
			),
		}))
		.filter((p): p is { base: ResultRow; with: ResultRow } => p.with !== undefined);
	if (pairs.length === 0) return "";
	return markdownTable(
		[
			"concurrency",
			"operation",
			`ops/s, ${off}`,
			`ops/s, ${on}`,
			`${on} ÷ ${off}`,
			`round trips ${off}`,
			`round trips ${on}`,
			`client CPU µs ${off}`,
			`client CPU µs ${on}`,
		],
		[true, false, true, true, true, true, true, true, true],
		pairs.map(({ base, with: w }) => [
			String(base.concurrency),
			base.operationLabel,
			grouped(base.opsPerSec),
			grouped(w.opsPerSec),
			percent(w.opsPerSec / base.opsPerSec),
			trips(base.roundTrips),
			trips(w.roundTrips),
			String(Math.round(base.cpuUsPerCall)),
			String(Math.round(w.cpuUsPerCall)),
		]),
	);
}

export function targetList(checks: TargetCheck[]): string {
	return checks
		.map((t) => {
			const at = t.concurrency === null ? "" : ` (concurrency ${t.concurrency})`;
			const value = t.value === null ? "n/a" : t.value.toFixed(2);
			const status = t.note ? "n/a" : t.met ? "met" : "MISSED";
			return `- ${status}: ${t.target}${at}: ${value}${t.note ? ` (${t.note})` : ""}`;
		})
		.join("\n");
}

function unique<T extends readonly [string, string]>(pairs: T[]): T[] {
	const seen = new Map<string, T>();
	for (const p of pairs) if (!seen.has(p[0])) seen.set(p[0], p);
	return [...seen.values()];
}
