import { describe, expect, it } from "vitest";
import { uuidv7Source } from "../src/stores/events.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("uuidv7Source", () => {
	it("is a UUIDv7 whose first 48 bits are the clock's milliseconds", () => {
		const at = Date.UTC(2026, 11, 5, 9, 30);
		const id = uuidv7Source(() => at)();
		expect(id).toMatch(UUID_V7);
		expect(Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(at);
	});

	it("strictly increases within one millisecond and when the clock steps back", () => {
		let clock = 1_800_000_000_000;
		const next = uuidv7Source(() => clock);
		const ids: string[] = [];
		for (let i = 0; i < 20_000; i++) {
			if (i === 10_000) clock -= 5; // NTP stepped the clock back
			if (i % 1000 === 999) clock += 1;
			ids.push(next());
		}
		for (const id of ids) expect(id).toMatch(UUID_V7);
		for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
	});
});
