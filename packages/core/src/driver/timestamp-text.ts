/**
 * Postgres timestamp text ↔ JavaScript `Date`, as node-postgres does it
 * (`postgres-date` one way, `prepareValue` the other), for drivers that parse
 * and write values themselves. `Date.parse` reads year 0099 as 1999 and
 * rejects offsets with seconds; `toISOString` writes years past 9999 and BC
 * years in a form Postgres rejects.
 */

/**
 * `YYYY-MM-DD[ HH:MM:SS[.ffffff]][±HH[:MM[:SS]]][ BC]`: the ISO DateStyle
 * Postgres writes, years of four digits or more.
 */
const TIMESTAMP =
	/^(\d{4,})-(\d\d)-(\d\d)(?: (\d\d):(\d\d):(\d\d)(?:\.(\d+))?)?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$/;

/**
 * Parse the text of a `timestamptz` (or, with `local`, a `timestamp` or
 * `date`, read as local time as node-postgres does). `infinity` and
 * `-infinity` become `±Infinity`; text in no known form becomes `new Date(text)`.
 */
export function parsePgTimestamp(text: string, local = false): Date | number {
	if (text === "infinity") return Number.POSITIVE_INFINITY;
	if (text === "-infinity") return Number.NEGATIVE_INFINITY;
	if (!local) {
		const common = commonTimestamptz(text);
		if (common !== undefined) return common;
	}
	const m = TIMESTAMP.exec(text);
	if (!m) return new Date(text);
	let year = Number(m[1]);
	// 1 BC is year 0, 2 BC year -1.
	if (m[12]) year = 1 - year;
	const month = Number(m[2]) - 1;
	const day = Number(m[3]);
	const hour = Number(m[4] ?? 0);
	const minute = Number(m[5] ?? 0);
	const second = Number(m[6] ?? 0);
	const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
	if (local && m[8] === undefined) {
		const date = new Date(2000, month, day, hour, minute, second, ms);
		date.setFullYear(year, month, day);
		return date;
	}
	const date = new Date(Date.UTC(2000, month, day, hour, minute, second, ms));
	// Date.UTC maps years 0–99 to 1900–1999: set the year on its own.
	date.setUTCFullYear(year, month, day);
	if (m[8] !== undefined) {
		const offset = (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1000;
		date.setTime(date.getTime() - (m[8] === "-" ? -offset : offset));
	}
	return date;
}

/** Two decimal digits at `i`, or NaN. */
function digits2(text: string, i: number): number {
	const a = text.charCodeAt(i) - 48;
	const b = text.charCodeAt(i + 1) - 48;
	return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : Number.NaN;
}

/**
 * The form nearly every timestamptz comes back in,
 * `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM]` with a year from 0100 to 9999, read
 * by character code: the regex costs about four times as much, and a
 * `findMany` of ten sessions reads thirty of these. `undefined` for any other
 * form (seconds in the offset, ` BC`, other years), which the regex reads.
 */
function commonTimestamptz(text: string): Date | undefined {
	const n = text.length;
	// The shortest is `YYYY-MM-DD HH:MM:SS+HH` (22).
	if (
		n < 22 ||
		text.charCodeAt(4) !== 45 /* - */ ||
		text.charCodeAt(7) !== 45 ||
		text.charCodeAt(10) !== 32 /* space */ ||
		text.charCodeAt(13) !== 58 /* : */ ||
		text.charCodeAt(16) !== 58
	) {
		return undefined;
	}
	const year = digits2(text, 0) * 100 + digits2(text, 2);
	let i = 19;
	let ms = 0;
	if (text.charCodeAt(i) === 46 /* . */) {
		// Milliseconds from the first three digits; the microseconds after them are dropped, as by the regex path.
		let scale = 100;
		for (let c = text.charCodeAt(++i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) {
			ms += (c - 48) * scale;
			scale = scale > 1 ? scale / 10 : 0;
		}
	}
	const sign = text.charCodeAt(i);
	if (sign !== 43 /* + */ && sign !== 45 /* - */) return undefined;
	let offset = digits2(text, i + 1) * 60;
	i += 3;
	if (text.charCodeAt(i) === 58) {
		offset += digits2(text, i + 1);
		i += 3;
	}
	// Date.UTC maps years 0–99 to 1900–1999; those, like every other form, take the regex.
	if (i !== n || !(year >= 100)) return undefined;
	const utc = Date.UTC(
		year,
		digits2(text, 5) - 1,
		digits2(text, 8),
		digits2(text, 11),
		digits2(text, 14),
		digits2(text, 17),
		ms,
	);
	if (Number.isNaN(utc)) return undefined;
	return new Date(sign === 45 ? utc + offset * 60_000 : utc - offset * 60_000);
}

/**
 * `date` as `timestamptz` input text in UTC, e.g. `0001-01-01T00:00:00.000+00:00 BC`
 * or `10000-01-01T00:00:00.000+00:00`, which Postgres reads for every date it
 * can store. `±Infinity` become `infinity`/`-infinity`.
 */
export function formatPgTimestamptz(date: Date | number): string {
	if (date === Number.POSITIVE_INFINITY) return "infinity";
	if (date === Number.NEGATIVE_INFINITY) return "-infinity";
	const d = typeof date === "number" ? new Date(date) : date;
	let year = d.getUTCFullYear();
	// `toISOString` writes years 1 to 9999 as Postgres reads them, and costs a fraction of the padding below.
	if (year >= 1 && year <= 9999) return d.toISOString();
	const bc = year < 1;
	if (bc) year = 1 - year;
	const pad = (n: number, width = 2) => String(n).padStart(width, "0");
	return (
		`${pad(year, 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
		`T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}+00:00` +
		(bc ? " BC" : "")
	);
}
