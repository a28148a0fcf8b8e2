// docs/adding-a-driver.md shows this example's files in full; the suite runs these files, so the
// guide must show them as they are.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

const root = new URL("../../../", import.meta.url);
const guide = readFileSync(new URL("docs/adding-a-driver.md", root), "utf8");
/** `<!-- examples/driver-example/<file> -->` followed by a fenced block holding that file. */
const shown = [...guide.matchAll(/<!-- (examples\/driver-example\/\S+) -->\n```\w*\n([\s\S]*?)```\n/g)];

it("the guide shows the example's files", () => {
	expect(shown.map(([, path]) => path)).toEqual(
		expect.arrayContaining([
			"examples/driver-example/src/driver.ts",
			"examples/driver-example/src/index.ts",
			"examples/driver-example/test/conformance.test.ts",
			"examples/driver-example/test/faults.test.ts",
			"examples/driver-example/vitest.config.ts",
		]),
	);
});

it.each(shown.map(([, path, body]) => [path!, body!]))("the guide shows %s as it is", (path, body) => {
	expect(body).toBe(readFileSync(new URL(path, root), "utf8"));
});
