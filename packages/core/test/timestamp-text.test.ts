import { describe, expect, it } from "vitest";
import { formatPgTimestamptz, parsePgTimestamp } from "../src/driver/timestamp-text.js";

/** `at` as Postgres writes a timestamptz in a session whose UTC offset is `offsetMinutes`, with `fraction` digits. */
function pgText(at: number, offsetMinutes: number, fraction: string): string {
	const local = new Date(at + offsetMinutes * 60_000);
	const pad = (n: number, width = 2) => String(n).padStart(width, "0");
	const sign = offsetMinutes < 0 ? "-" : "+";
	const abs = Math.abs(offsetMinutes);
	const offset = `${sign}${pad(Math.floor(abs / 60))}${abs % 60 ? `:${pad(abs % 60)}` : ""}`;
	return (
		`${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ` +
		`${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${fraction}${offset}`
	);
}

describe("parsePgTimestamp", () => {
	it("reads the common timestamptz forms to the millisecond, whatever the offset and fraction", () => {
		let seed = 7;
		const random = () => {
			seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
			return seed / 2 ** 31;
		};
		const offsets = [0, 60, -480, 330, 345, -570, 840, -720];
		for (let i = 0; i < 20_000; i++) {
			// Years 0100 to 9999, to the millisecond.
			const at = Math.floor(-59_011_459_200_000 + random() * (253_402_300_799_999 + 59_011_459_200_000));
			const offset = offsets[i % offsets.length]!;
			const ms = ((at % 1000) + 1000) % 1000;
			const micros = String(Math.floor(random() * 1000)).padStart(3, "0");
			const fraction = [
				"",
				`.${String(ms).padStart(3, "0")}${micros}`.replace(/0+$/, ""),
				`.${String(ms).padStart(3, "0")}`,
			][i % 3]!;
			const expected = fraction === "" ? at - ms : at;
			const text = pgText(at, offset, fraction === "." ? "" : fraction);
			const parsed = parsePgTimestamp(text);
			expect(parsed instanceof Date ? parsed.getTime() : parsed, text).toBe(expected);
		}
	});

	it("reads the rare forms: years before 100 and past 9999, BC, offsets with seconds, infinity", () => {
		const iso = (text: string) => (parsePgTimestamp(text) as Date).toISOString();
		expect(iso("0099-03-04 05:06:07.89+00")).toBe("0099-03-04T05:06:07.890Z");
		expect(iso("10000-01-01 00:00:00+00")).toBe("+010000-01-01T00:00:00.000Z");
		expect(iso("0001-01-01 00:00:00+00 BC")).toBe("0000-01-01T00:00:00.000Z");
		expect(iso("1883-11-18 12:00:00-07:52:58")).toBe("1883-11-18T19:52:58.000Z");
		expect(iso("2024-05-06 07:08:09.123+05:30")).toBe("2024-05-06T01:38:09.123Z");
		expect(parsePgTimestamp("infinity")).toBe(Number.POSITIVE_INFINITY);
		expect(parsePgTimestamp("-infinity")).toBe(Number.NEGATIVE_INFINITY);
	});

	it("formatPgTimestamptz writes ISO text for years 1 to 9999 and Postgres's own forms past them", () => {
		expect(formatPgTimestamptz(Date.UTC(2024, 4, 6, 7, 8, 9, 123))).toBe("2024-05-06T07:08:09.123Z");
		expect(formatPgTimestamptz(new Date("0099-03-04T05:06:07.890Z"))).toBe("0099-03-04T05:06:07.890Z");
		expect(formatPgTimestamptz(new Date("+010000-01-01T00:00:00.000Z"))).toBe("10000-01-01T00:00:00.000+00:00");
		expect(formatPgTimestamptz(new Date("0000-01-01T00:00:00.000Z"))).toBe("0001-01-01T00:00:00.000+00:00 BC");
		expect(formatPgTimestamptz(Number.POSITIVE_INFINITY)).toBe("infinity");
	});
});
