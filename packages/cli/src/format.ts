/**
 * How plans read on a terminal and as JSON. Colour only on a terminal that
 * wants it (`NO_COLOR`, `FORCE_COLOR` honoured), so piped output is plain.
 */
import type { MigrationPlan, MigrationStep } from "@authpg/core";

/** Minimal ANSI styling for one output stream. */
export interface Style {
	bold(s: string): string;
	dim(s: string): string;
	red(s: string): string;
	green(s: string): string;
	yellow(s: string): string;
	cyan(s: string): string;
}

export function styleFor(stream: NodeJS.WriteStream): Style {
	const env = process.env;
	const on =
		env.NO_COLOR === undefined &&
		(env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" ? true : stream.isTTY === true && env.TERM !== "dumb");
	const wrap = (open: number, close: number) => (s: string) => (on ? `\u001b[${open}m${s}\u001b[${close}m` : s);
	return {
		bold: wrap(1, 22),
		dim: wrap(2, 22),
		red: wrap(31, 39),
		green: wrap(32, 39),
		yellow: wrap(33, 39),
		cyan: wrap(36, 39),
	};
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** "3 steps (2 safe, 1 locking), 0 blockers, 1 warning". */
export function summaryLine(plan: MigrationPlan): string {
	const bySafety = new Map<string, number>();
	for (const step of plan.steps) bySafety.set(step.safety, (bySafety.get(step.safety) ?? 0) + 1);
	const classes = ["safe", "locking", "rewrite"]
		.filter((s) => bySafety.has(s))
		.map((s) => `${bySafety.get(s)} ${s}`)
		.join(", ");
	let line = `${plural(plan.steps.length, "step")}${classes ? ` (${classes})` : ""}, ${plural(plan.blockers.length, "blocker")}`;
	if (plan.warnings.length > 0) line += `, ${plural(plan.warnings.length, "warning")}`;
	return line;
}

const safetyStyle = (style: Style, safety: MigrationStep["safety"]) =>
	safety === "safe" ? style.green(safety) : safety === "locking" ? style.yellow(safety) : style.red(safety);

/**
 * `create table … (a, b, c)` with one column per line; other statements as
 * they are. Only splits at top-level commas outside quotes, so defaults and
 * `references "t" ("id")` stay whole.
 */
export function prettySql(sql: string): string {
	const text = sql.trim();
	if (!/^create\s+(unlogged\s+)?table\b/i.test(text)) return text;
	const parts: string[] = [];
	let depth = 0;
	let start = -1;
	let quote: string | undefined;
	let end = -1;
	for (let i = 0; i < text.length && end < 0; i++) {
		const c = text[i];
		if (quote) {
			if (c === quote) quote = undefined;
		} else if (c === "'" || c === '"') {
			quote = c;
		} else if (c === "(") {
			if (depth++ === 0) start = i + 1;
		} else if (c === ")") {
			if (--depth === 0) {
				parts.push(text.slice(start, i));
				end = i;
			}
		} else if (c === "," && depth === 1) {
			parts.push(text.slice(start, i));
			start = i + 1;
		}
	}
	if (end < 0 || parts.length < 2) return text;
	const head = text.slice(0, text.indexOf("(") + 1);
	return `${head}\n${parts.map((p) => `  ${p.trim()}`).join(",\n")}\n${text.slice(end)}`;
}

/** One step: number, kind, target, safety; then its SQL, indented. */
export function formatStep(step: MigrationStep, index: number, style: Style, withSql = true): string {
	const head = `${String(index + 1).padStart(3)}. ${style.bold(step.kind)} ${step.target}  [${safetyStyle(style, step.safety)}${step.concurrently ? ", after commit" : ""}]`;
	if (!withSql) return head;
	const sql = prettySql(step.sql)
		.split("\n")
		.map((line) => `       ${style.dim(line)}`)
		.join("\n");
	return `${head}\n${sql}${step.sql.trim().endsWith(";") ? "" : style.dim(";")}`;
}

/** Warnings and blockers, each a list under a heading. */
export function formatFindings(plan: MigrationPlan, style: Style): string[] {
	const out: string[] = [];
	if (plan.warnings.length > 0) {
		out.push("", style.yellow("Warnings (left alone):"));
		for (const warning of plan.warnings) out.push(`  - ${warning}`);
	}
	if (plan.blockers.length > 0) {
		out.push("", style.red("Blockers (migrate refuses until they are resolved):"));
		for (const blocker of plan.blockers) out.push(`  - ${blocker.kind} ${blocker.target}: ${blocker.message}`);
	}
	return out;
}

/** The whole plan as text. */
export function formatPlan(plan: MigrationPlan, style: Style, withSql = true): string {
	const out: string[] = [];
	if (plan.steps.length > 0) {
		out.push("");
		for (const [i, step] of plan.steps.entries()) {
			out.push(formatStep(step, i, style, withSql));
			if (withSql && i < plan.steps.length - 1) out.push("");
		}
	}
	out.push(...formatFindings(plan, style));
	out.push("", style.bold(summaryLine(plan)));
	return out.join("\n");
}

/** The plan as JSON (stable field names, for scripts). */
export function planJson(plan: MigrationPlan, extra: Record<string, unknown> = {}): string {
	const count = (safety: string) => plan.steps.filter((s) => s.safety === safety).length;
	return `${JSON.stringify(
		{
			...extra,
			namespace: plan.namespace,
			summary: {
				steps: plan.steps.length,
				safe: count("safe"),
				locking: count("locking"),
				rewrite: count("rewrite"),
				blockers: plan.blockers.length,
				warnings: plan.warnings.length,
			},
			steps: plan.steps,
			blockers: plan.blockers,
			warnings: plan.warnings,
		},
		null,
		2,
	)}\n`;
}

/** "12 ms", "1.4 s". */
export const duration = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
