/**
 * `pnpm bench`: every subject side by side, in one process, against one
 * PostgreSQL server (embedded from npm unless AUTHPG_BENCH_DATABASE_URL is
 * set) — except `@authpg/pglite`, on an in-process database of its own seeded
 * with the same rows. Tables on stdout, progress on stderr; a full run also
 * writes bench/results/latest.json and docs/benchmark.svg.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, platform, release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createStores } from "@authpg/pool";
import type { BetterAuthOptions } from "@better-auth/core";
import pg from "pg";
import { chartSvg } from "./chart.js";
import { openBenchDatabase } from "./database.js";
import { PGLITE, POOL_EVENTS, POOL_REPLICA, POOL_SEALED } from "./keys.js";
import { operations } from "./operations.js";
import { benchPasswordHashing } from "./password.js";
import { openPgliteDatabase, type PgliteDatabase } from "./pglite-database.js";
import { Progress } from "./progress.js";
import { updateReadme } from "./readme.js";
import {
	checkTargets,
	compactTable,
	fullTable,
	ownFloorTable,
	type ResultRow,
	roundTripTable,
	summarise,
	targetList,
	variantTable,
} from "./report.js";
import { runSchedule, type Schedule } from "./run.js";
import { seed } from "./seed.js";
import {
	BENCH_KEYSTORE_PASSWORD,
	createSubjects,
	OPT_IN_SUBJECT_KEYS,
	SUBJECT_KEYS,
	type Subject,
} from "./subjects.js";

const HELP = `pnpm bench [options]

  --quick              every operation briefly, to check it all works (no figures; writes no files)
  --rounds <n>         measured rounds per operation and concurrency (default 20)
  --seconds <s>        length of one measurement (default 0.15)
  --warmup <s>         length of the discarded warm-up measurement (default 0.25)
  --concurrency <list> concurrent callers, comma-separated (default 1,16)
  --users <n>          users to seed (default 10000)
  --operations <list>  only these operations (keys as in results/latest.json), comma-separated; writes no files
  --subjects <list>    only these subjects (keys), comma-separated; ratios need floor and better-auth; writes no files
                       keys: ${SUBJECT_KEYS.join(", ")}
                       (${OPT_IN_SUBJECT_KEYS.join(", ")}: only when named here; see bench/README.md)
  --events             only what the event log costs: sign-in and getSession, @authpg/pool with the
                       log off and on (--subjects pool,pool-events --operations signIn,getSession); writes no files
  --seal               only what sealed fields cost: sign-in, getSession and findOne of an account with
                       sealed OAuth tokens, @authpg/pool with seal off and on
                       (--subjects pool,pool-sealed --operations signIn,getSession,findOneAccount); writes no files
  --readme             also rewrite the generated tables in README.md's Performance section

Environment: AUTHPG_BENCH_DATABASE_URL names a server (role with CREATEDB) to use instead of an
embedded PostgreSQL; the benchmark creates its own database there and drops it afterwards.
AUTHPG_BENCH_REPLICA_URL names a streaming replica of that server, for pool-replica; without it
(and without AUTHPG_BENCH_DATABASE_URL) pool-replica runs on an embedded primary and a replica the
test harness builds.`;

const benchDir = fileURLToPath(new URL("..", import.meta.url));
const repoDir = join(benchDir, "..");

// A fixed, high-entropy test secret: sessions are signed with it, nothing else depends on it.
const SECRET = "authpg-bench-6f0c1e9a4b7d2c58e31a9f04b6d7c2e8a1f5b3d9c0e7a4f2b8d6c1e3a5f7b9d0";
const BASE_URL = "http://localhost:3000";
const BASE_PATH = "/api/auth";

async function main(): Promise<void> {
	const { values } = parseArgs({
		// `pnpm run x -- --flag` hands the script a literal "--" before the flags.
		args: process.argv.slice(2).filter((arg) => arg !== "--"),
		options: {
			quick: { type: "boolean", default: false },
			rounds: { type: "string" },
			seconds: { type: "string" },
			warmup: { type: "string" },
			concurrency: { type: "string" },
			users: { type: "string" },
			operations: { type: "string" },
			subjects: { type: "string" },
			readme: { type: "boolean", default: false },
			events: { type: "boolean", default: false },
			seal: { type: "boolean", default: false },
			help: { type: "boolean", short: "h", default: false },
		},
		allowPositionals: false,
	});
	if (values.help) {
		console.log(HELP);
		return;
	}
	const quick = values.quick;
	const schedule: Schedule = {
		rounds: positive(values.rounds, quick ? 1 : 20, "--rounds"),
		seconds: positive(values.seconds, quick ? 0.05 : 0.15, "--seconds"),
		warmupSeconds: positive(values.warmup, quick ? 0.02 : 0.25, "--warmup"),
		concurrency: (values.concurrency ?? "1,16").split(",").map((c) => positive(c, 1, "--concurrency")),
	};
	const users = positive(values.users, 10_000, "--users");
	if (values.events) {
		// The event log's cost, alone: both sides interleaved round by round like any other subjects.
		values.subjects ??= `pool,${POOL_EVENTS}`;
		values.operations ??= "signIn,getSession";
	}
	if (values.seal) {
		values.subjects ??= `pool,${POOL_SEALED}`;
		values.operations ??= "signIn,getSession,findOneAccount";
	}
	const wanted = values.subjects?.split(",") ?? SUBJECT_KEYS.filter((key) => !OPT_IN_SUBJECT_KEYS.includes(key));
	const unknown = wanted.filter((key) => !(SUBJECT_KEYS as readonly string[]).includes(key));
	if (unknown.length) throw new Error(`no such subject: ${unknown.join(", ")}; known: ${SUBJECT_KEYS.join(", ")}`);
	const poolMax = Math.max(...schedule.concurrency);
	const progress = new Progress();

	progress.log(quick ? "quick run: every operation briefly; figures are not meaningful" : "full run");
	progress.status("starting PostgreSQL…");
	const database = await openBenchDatabase({ replica: wanted.includes(POOL_REPLICA) });
	progress.log(`PostgreSQL (${database.source}): ${database.serverVersion.split(" on ")[0]}`);
	if (database.replicaUrl) progress.log("with a streaming replica of the bench database, for pool-replica");
	else if (database.noReplica) progress.log(`no replica: ${database.noReplica}`);
	const admin = new pg.Client({ connectionString: database.url });
	const subjects: Subject[] = [];
	let pglite: PgliteDatabase | undefined;
	try {
		await admin.connect();
		const options: BetterAuthOptions = {
			baseURL: BASE_URL,
			basePath: BASE_PATH,
			secret: SECRET,
			// A fast hash in place of scrypt, so a sign-in measures the database path (see password.ts).
			emailAndPassword: { enabled: true, password: benchPasswordHashing },
			// Database rate limiting, on outside production too; a long window and a high max keep every
			// benchmarked request in the common case (allowed, counted in an open window).
			rateLimit: { enabled: true, storage: "database", window: 3600, max: 1_000_000_000 },
			logger: { level: "error" },
		};

		progress.status("creating the schema and seeding…");
		const started = performance.now();
		// With the event log's table, which the pool-events subject writes (the others never touch it).
		// And the key store's field-key table, which pool-sealed fills on first use.
		const migrator = createStores({
			connectionString: database.url,
			events: true,
			keystorePassword: BENCH_KEYSTORE_PASSWORD,
			seal: true,
		});
		try {
			await migrator.migrate(options);
		} finally {
			await migrator.close();
		}
		if (wanted.includes(PGLITE)) {
			progress.status("starting PGlite (the @authpg/pglite subject's own database)…");
			pglite = await openPgliteDatabase(options);
		}
		// PGlite gets the very same rows (ids, tokens) as the server, so every operation finds what it looks for.
		const data = await seed(pglite ? [admin, pglite.admin] : [admin], users);
		const c = data.counts;
		progress.log(
			`seeded ${c.users} users, ${c.accounts} accounts, ${c.sessions} sessions, ${c.verifications} verifications, ${c.rateLimits} rate-limit rows${pglite ? " (on the server and in PGlite)" : ""} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
		);

		progress.status("building the subjects…");
		subjects.push(
			...(await createSubjects(
				{ url: database.url, poolMax, options, pglite, replicaUrl: database.replicaUrl },
				(line) => progress.log(line),
				wanted,
			)),
		);
		progress.log(`subjects: ${subjects.map((s) => s.label).join(", ")}`);
		await warnIfTooFewConnections(admin, subjects, poolMax, (line) => progress.log(line));
		const wantedOps = values.operations?.split(",");
		const allOps = await operations({
			data,
			secret: SECRET,
			baseURL: BASE_URL,
			basePath: BASE_PATH,
			rateLimitClients: 1000,
		});
		const ops = wantedOps ? allOps.filter((o) => wantedOps.includes(o.key)) : allOps.filter((o) => !o.optIn);
		if (ops.length === 0)
			throw new Error(`no such operation: ${values.operations}; known: ${allOps.map((o) => o.key).join(", ")}`);
		const measured = await runSchedule(ops, subjects, schedule, admin, progress, minorGc());
		const rows = summarise(measured);
		const targets = checkTargets(rows, {
			singleRowOps: ops.filter((o) => o.singleRow).map((o) => o.key),
			authpgRateLimit: new Set(subjects.filter((s) => s.rateLimitStorage.startsWith("authpg")).map((s) => s.key)),
		});

		const environment = {
			node: process.version,
			platform: `${platform()} ${release()}`,
			cpu: `${cpus().length} × ${cpus()[0]?.model ?? "unknown"}`,
			postgres: database.serverVersion,
			database: database.source,
			packages: Object.fromEntries(
				[
					"better-auth",
					"@better-auth/drizzle-adapter",
					"drizzle-orm",
					"kysely",
					"pg",
					"postgres",
					"@neondatabase/serverless",
					"@electric-sql/pglite",
				].map((name) => [name, packageVersion(name)]),
			),
		};
		const caption = `${quick ? "QUICK RUN (not a measurement) · " : ""}median of ${schedule.rounds} interleaved rounds of ${schedule.seconds} s · ${environment.cpu} · Node ${process.version} · ${database.serverVersion.split(",")[0]} (${database.source})`;

		const stdout = [
			quick ? "# authpg bench (--quick: a smoke run, the figures mean nothing)" : "# authpg bench",
			"",
			caption,
			"",
			fullTable(rows),
			"",
			...variantSection(rows, "The event log's cost (@authpg/pool, events off and on):", POOL_EVENTS, "off", "on"),
			...variantSection(
				rows,
				"What sealed fields cost (@authpg/pool, seal off and on):",
				POOL_SEALED,
				"clear",
				"sealed",
			),
			"Targets (reported, not asserted):",
			"",
			targetList(targets),
			"",
			"Subjects:",
			"",
			...subjects.map((s) => `- ${s.label}: ${s.description} Rate limit: ${s.rateLimitStorage}.`),
			"",
		];
		process.stdout.write(stdout.join("\n"));

		// A quick or filtered run is a check, not a result: only a full run replaces the published figures.
		if (quick || values.operations || values.subjects) {
			progress.log("partial or quick run: bench/results/latest.json and docs/benchmark.svg left as they were");
		} else {
			const json = {
				generatedAt: new Date().toISOString(),
				command: `pnpm bench ${process.argv
					.slice(2)
					.filter((arg) => arg !== "--")
					.join(" ")}`.trim(),
				environment,
				schedule,
				dataSet: data.counts,
				poolMax,
				subjects: subjects.map(({ key, label, description, rateLimitStorage }) => ({
					key,
					label,
					description,
					rateLimitStorage,
				})),
				operations: ops.map(({ key, label, singleRow }) => ({ key, label, singleRow })),
				results: rows,
				targets,
			};
			await mkdir(join(benchDir, "results"), { recursive: true });
			await writeFile(join(benchDir, "results", "latest.json"), `${JSON.stringify(json, null, "\t")}\n`);
			await mkdir(join(repoDir, "docs"), { recursive: true });
			await writeFile(join(repoDir, "docs", "benchmark.svg"), chartSvg(rows, caption));
			progress.log("wrote bench/results/latest.json and docs/benchmark.svg");
			if (values.readme) {
				const generated = [
					caption,
					"",
					...schedule.concurrency.flatMap((n) => [compactTable(rows, n), ""]),
					...schedule.concurrency.flatMap((n) => [ownFloorTable(rows, n), ""]),
					roundTripTable(rows),
				].join("\n");
				const updated = await updateReadme(join(repoDir, "README.md"), generated);
				progress.log(updated ? "updated README.md" : "README.md has no bench markers: left alone");
			}
		}
	} finally {
		for (const subject of subjects) await subject.close().catch(() => {});
		// Closed by its subject, unless the run failed before that subject was built.
		await pglite?.close().catch(() => {});
		await admin.end().catch(() => {});
		await database.close();
	}
}

/**
 * A young-generation GC (about 0.1 ms, where a full one takes tens of ms on
 * this heap), so the short-lived garbage of one subject's calls is not
 * collected on the next one's time. `gc` without `--expose-gc` on the
 * command line, because tsx starts the script.
 */
function minorGc(): () => void {
	setFlagsFromString("--expose-gc");
	const gc = runInNewContext("gc") as (options?: { type: "minor" | "major" }) => void;
	return () => gc({ type: "minor" });
}

/**
 * Every subject on the shared server keeps up to `poolMax` connections open
 * (the Neon HTTP endpoint a pool of 10 besides), so a server with a small
 * `max_connections` (100 is PostgreSQL's default; the embedded one gets 300)
 * refuses connections halfway through the run. Said up front, with the way out.
 */
async function warnIfTooFewConnections(
	admin: pg.Client,
	subjects: Subject[],
	poolMax: number,
	log: (line: string) => void,
): Promise<void> {
	const { rows } = await admin.query<{ max: string; reserved: string }>(
		"select current_setting('max_connections') as max, current_setting('superuser_reserved_connections') as reserved",
	);
	const allowed = Number(rows[0].max) - Number(rows[0].reserved);
	const wanted = subjects.filter((s) => !s.ownDatabase).length * poolMax + 10 + 1;
	if (wanted > allowed) {
		log(
			`warning: the subjects may hold up to ${wanted} connections at once, the server allows ${allowed} (max_connections): raise max_connections, or run fewer subjects with --subjects`,
		);
	}
}

function positive(value: string | undefined, fallback: number, flag: string): number {
	if (value === undefined) return fallback;
	const n = Number(value);
	if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} wants a positive number, got ${JSON.stringify(value)}`);
	return n;
}

/** The installed version of `name`, from its package.json (found by walking up from its entry). */
function packageVersion(name: string): string {
	try {
		let dir = dirname(fileURLToPath(import.meta.resolve(name)));
		while (dir !== dirname(dir)) {
			const file = join(dir, "package.json");
			if (existsSync(file)) {
				const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
				if (pkg.name === name) return pkg.version ?? "unknown";
			}
			dir = dirname(dir);
		}
	} catch {}
	return "unknown";
}

/** A titled table of what a variant of `@authpg/pool` costs, when the run measured it. */
function variantSection(rows: ResultRow[], title: string, variant: string, off: string, on: string): string[] {
	const table = variantTable(rows, variant, off, on);
	return table ? [title, "", table, ""] : [];
}

main().then(
	() => process.exit(0),
	(error: unknown) => {
		console.error(error instanceof Error ? (error.stack ?? error.message) : error);
		process.exit(1);
	},
);
