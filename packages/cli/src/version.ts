import { readFileSync } from "node:fs";

/** `@authpg/cli <version>`, as the migration history records the tool. */
export function cliTool(): string {
	const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
		name: string;
		version: string;
	};
	return `${pkg.name} ${pkg.version}`;
}
