import { readFileSync } from "node:fs";

/** This package's package.json (next to `dist/`, where the bundle runs from). */
const pkg = () =>
	JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
		name: string;
		version: string;
	};

/** The version `authpg --version` prints. */
export const cliVersion = (): string => pkg().version;

/** `@authpg/cli <version>`, as the migration history records the tool. */
export function cliTool(): string {
	const { name, version } = pkg();
	return `${name} ${version}`;
}
