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
	const bc = year < 1;
	if (bc) year = 1 - year;
	const pad = (n: number, width = 2) => String(n).padStart(width, "0");
	return (
		`${pad(year, 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
		`T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}+00:00` +
		(bc ? " BC" : "")
	);
}
