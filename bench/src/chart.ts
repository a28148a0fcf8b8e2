/**
 * The SVG chart for the docs: for each concurrency a panel of horizontal
 * bars, one group per operation, one bar per subject: throughput relative to
 * Better Auth's built-in path, on a log₂ scale from the 1× line (right of it
 * is faster than Better Auth, left of it slower).
 */

import { BETTER_AUTH } from "./keys.js";
import type { ResultRow } from "./report.js";

const COLORS = [
	"#6b7280",
	"#9ca3af",
	"#2563eb",
	"#0891b2",
	"#7c3aed",
	"#d97706",
	"#dc2626",
	"#16a34a",
	"#db2777",
	"#65a30d",
	"#a16207",
];
const LABEL_WIDTH = 300;
const PANEL_WIDTH = 340;
const PANEL_GAP = 40;
const BAR = 9;
const BAR_GAP = 1;
const GROUP_GAP = 12;
const LEGEND_ROW = 16;
const CHAR_WIDTH = 6.8;

/** An SVG document (no external references) for `rows`. */
export function chartSvg(rows: ResultRow[], caption: string): string {
	const concurrencies = [...new Set(rows.map((r) => r.concurrency))].sort((a, b) => a - b);
	// A subject with no ratio at all (PGlite, on a database of its own) has no bar to draw: it stays out of the legend too.
	const subjects = uniqueBy(rows, (r) => r.subject).filter(
		(r) => r.subject !== BETTER_AUTH && rows.some((x) => x.subject === r.subject && x.vsBetterAuth !== null),
	);
	const ops = uniqueBy(rows, (r) => r.operation);
	const ratios = rows.map((r) => r.vsBetterAuth).filter((x): x is number => x !== null && x > 0);
	const lo = Math.min(-1, Math.floor(Math.log2(Math.min(...ratios))));
	const hi = Math.max(1, Math.ceil(Math.log2(Math.max(...ratios))));
	const width = LABEL_WIDTH + concurrencies.length * (PANEL_WIDTH + PANEL_GAP);

	// Legend rows, wrapped to the width.
	const legend: { x: number; y: number; row: ResultRow; color: string }[] = [];
	let lx = 10;
	let ly = 52;
	subjects.forEach((s, i) => {
		const w = 24 + s.subjectLabel.length * CHAR_WIDTH;
		if (lx + w > width - 10) {
			lx = 10;
			ly += LEGEND_ROW;
		}
		legend.push({ x: lx, y: ly, row: s, color: COLORS[i % COLORS.length] });
		lx += w;
	});
	const top = ly + 40;
	const groupHeight = subjects.length * (BAR + BAR_GAP) + GROUP_GAP;
	const height = top + ops.length * groupHeight + 40;
	const x = (panel: number, ratio: number) =>
		LABEL_WIDTH + panel * (PANEL_WIDTH + PANEL_GAP) + ((Math.log2(ratio) - lo) / (hi - lo)) * (PANEL_WIDTH - 40);

	const out: string[] = [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11">`,
		`<title>authpg benchmark: throughput relative to Better Auth's built-in Postgres path</title>`,
		`<rect width="100%" height="100%" fill="#ffffff"/>`,
		`<text x="10" y="20" font-size="15" font-weight="600" fill="#111827">Throughput relative to Better Auth's built-in Postgres path (log scale; right of the dashed 1× line is faster)</text>`,
		`<text x="10" y="38" fill="#4b5563">${xml(caption)}</text>`,
	];
	for (const item of legend) {
		out.push(
			`<rect x="${item.x}" y="${item.y}" width="10" height="10" fill="${item.color}"/>`,
			`<text x="${item.x + 14}" y="${item.y + 9}" fill="#111827">${xml(item.row.subjectLabel)}</text>`,
		);
	}
	concurrencies.forEach((c, panel) => {
		out.push(
			`<text x="${x(panel, 2 ** lo)}" y="${top - 12}" font-weight="600" fill="#111827">${c} concurrent caller${c === 1 ? "" : "s"}</text>`,
		);
		for (let e = lo; e <= hi; e++) {
			const tx = x(panel, 2 ** e).toFixed(1);
			const one = e === 0;
			out.push(
				`<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${height - 34}" stroke="${one ? "#111827" : "#e5e7eb"}"${one ? ' stroke-dasharray="4 3"' : ""}/>`,
				`<text x="${tx}" y="${height - 22}" text-anchor="middle" fill="#4b5563">${2 ** e}×</text>`,
			);
		}
	});
	ops.forEach((op, g) => {
		const gy = top + g * groupHeight;
		out.push(
			`<text x="${LABEL_WIDTH - 10}" y="${gy + (subjects.length * (BAR + BAR_GAP)) / 2 + 3}" text-anchor="end" fill="#111827">${xml(op.operationLabel)}</text>`,
		);
		concurrencies.forEach((c, panel) => {
			subjects.forEach((s, i) => {
				const r = rows.find((x) => x.operation === op.operation && x.subject === s.subject && x.concurrency === c);
				if (!r || r.vsBetterAuth === null || r.vsBetterAuth <= 0) return;
				const y = gy + i * (BAR + BAR_GAP);
				const base = x(panel, 1);
				const end = x(panel, r.vsBetterAuth);
				const left = Math.min(base, end);
				const w = Math.max(1, Math.abs(end - base));
				const label = `${r.vsBetterAuth.toFixed(2)}×`;
				const labelX = end >= base ? left + w + 3 : left - 3;
				out.push(
					`<rect x="${left.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${COLORS[i % COLORS.length]}"><title>${xml(`${s.subjectLabel}, ${op.operationLabel}, ${c} caller(s): ${Math.round(r.opsPerSec)} ops/s, ${label} Better Auth, ${r.roundTrips} round trip(s) per call`)}</title></rect>`,
					`<text x="${labelX.toFixed(1)}" y="${y + BAR - 1}" font-size="8.5" fill="#374151"${end >= base ? "" : ' text-anchor="end"'}>${label}</text>`,
				);
			});
		});
	});
	out.push("</svg>");
	return `${out.join("\n")}\n`;
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
	const seen = new Map<string, T>();
	for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
	return [...seen.values()];
}

function xml(text: string): string {
	return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
