/**
 * `authpg doctor`: read-only checks of a database against the config. Each
 * finding says what it is, why it matters and the command that fixes it;
 * `info` lines (server version, settings, pooler, unindexed foreign keys,
 * expired rows) never fail the run.
 */
import { resolve } from "node:path";
import {
	type CompiledSchema,
	compileSchema,
	type Driver,
	EVENT_PARTITIONS_AHEAD,
	EVENT_TABLE,
	eventPartitionName,
	HASHED_PREFIX,
	introspect,
	type LiveSchema,
	type MigrationPlan,
	monthStart,
	planMigrations,
	prune,
	SEALED_PREFIX,
	sealedColumns,
} from "@authpg/core";
import type { DoctorFlags } from "../args.js";
import { loadProject, type Project } from "../config.js";
import { connect, describeDatabase } from "../connection.js";
import { Exit, type ExitCode } from "../exit.js";
import { type LookupColumn, lookupColumns, unindexedColumns } from "../lookups.js";
import { out } from "../output.js";
import { probeTransactionPooler } from "../pooler.js";

/** One problem found. */
export interface Finding {
	readonly check: string;
	readonly what: string;
	readonly why: string;
	readonly fix: string;
}

const WHY_TIMESTAMP =
	"timestamp without time zone stores wall-clock time: expiry checks shift by the server's UTC offset and sessions expire early or late.";

const quoteId = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Findings from the migration plan: pending steps, blockers and jsonb arrays, each explained. */
function planFindings(
	plan: MigrationPlan,
	idKind: string,
	lookups: { unserved: ReadonlySet<string>; served: ReadonlySet<string> },
): Finding[] {
	const findings: Finding[] = [];
	for (const b of plan.blockers) {
		if (b.kind === "typeMismatch" && / is timestamp without time zone, /.test(b.message)) {
			findings.push({
				check: "timestamptz",
				what: `${b.target} is timestamp without time zone; Better Auth expects timestamp with time zone.`,
				why: WHY_TIMESTAMP,
				fix: `alter table … alter column … type timestamptz using … at time zone 'UTC' (check the data first), then authpg status`,
			});
		} else if (b.kind === "typeMismatch" && /\.id$|Id$/.test(b.target)) {
			findings.push({
				check: "idType",
				what: b.message.split(". ")[0]!,
				why: `The config generates ${idKind} ids: inserts fail or ids do not compare with their references.`,
				fix: "Change the config's advanced.database.generateId, or convert the column, then authpg status",
			});
		} else {
			findings.push({ check: b.kind, what: b.message.split(". ")[0]!, why: b.message, fix: "authpg plan" });
		}
	}
	for (const step of plan.steps) {
		if (step.kind === "createIndex" && lookups.served.has(step.target)) {
			findings.push({
				check: "pending",
				what: `Pending: createIndex ${step.target}.`,
				why: "Another index already serves lookups by its column, but authpg status reports the database out of sync until Better Auth's own index exists.",
				fix: "authpg migrate --concurrently (or drop the other index if it only duplicates this one)",
			});
		} else if (step.kind === "createIndex") {
			// A lookup column's index: lookupFindings names the column instead.
			if (lookups.unserved.has(step.target)) continue;
			findings.push({
				check: "missingIndex",
				what: `Index ${step.target} is missing.`,
				why: "Better Auth looks rows up by these columns on every request: without it each lookup scans the table.",
				fix: "authpg migrate --concurrently",
			});
		} else if (step.kind !== "createSchema" && !(step.kind === "createTable" && step.target === "authpg_migrations")) {
			findings.push({
				check: "pending",
				what: `Pending: ${step.kind} ${step.target}.`,
				why: "The database lacks part of the schema the config needs: requests touching it fail.",
				fix: "authpg migrate",
			});
		}
	}
	for (const warning of plan.warnings) {
		if (/jsonb array/.test(warning)) {
			findings.push({
				check: "jsonbArray",
				what: warning.split(";")[0]!,
				why: "Native arrays are smaller, typed, and queryable with array operators; jsonb arrays keep working.",
				fix: "authpg migrate --convert-arrays",
			});
		}
	}
	return findings;
}

/**
 * Lookup columns (of core tables and enabled plugins) no usable index serves.
 * The fix is `authpg migrate` when the plan creates the index, else the SQL
 * (e.g. an index of Better Auth's name exists but is partial).
 */
function lookupFindings(
	missing: readonly LookupColumn[],
	plan: MigrationPlan,
	live: LiveSchema,
	namespace: string,
): Finding[] {
	const planned = new Set(plan.steps.filter((s) => s.kind === "createIndex").map((s) => s.target));
	return missing
		.filter((c) => c.use === "lookup")
		.map((c) => {
			const name = c.indexNames.find((n) => planned.has(n));
			const free = live.indexes.has(c.indexNames[0]!) ? `${c.table}_${c.column}_lookup_idx` : c.indexNames[0]!;
			return {
				check: "missingIndex",
				what: `${c.table}.${c.column} has no index${name ? ` (${name} is missing)` : ""}.`,
				why: `Better Auth looks ${c.model} rows up by ${c.column}: without an index every such lookup scans the whole table.`,
				fix: name
					? "authpg migrate --concurrently"
					: `create index concurrently if not exists ${quoteId(free)} on ${quoteId(namespace)}.${quoteId(c.table)} (${quoteId(c.column)})`,
			};
		});
}

/** Index names of the lookup columns, split by whether a usable index serves the column. */
function lookupIndexNames(schema: CompiledSchema, unserved: readonly LookupColumn[]) {
	const names = (columns: readonly LookupColumn[]) =>
		new Set(columns.filter((c) => c.use === "lookup").flatMap((c) => c.indexNames));
	const missing = names(unserved);
	return { unserved: missing, served: new Set([...names(lookupColumns(schema))].filter((n) => !missing.has(n))) };
}

/** Pooler check of the config's own driver, as a finding when it matters and an info line either way. */
async function poolerCheck(project: Project): Promise<{ finding?: Finding; info: string }> {
	const driver: Driver | undefined = project.authpg?.driver;
	if (!driver) return { info: "not checked: the config's database adapter is not authpg's" };
	if (!driver.capabilities.preparedStatements) {
		return { info: `not checked: the ${driver.name} driver does not use prepared statements` };
	}
	const probe = await probeTransactionPooler(driver);
	if (probe.pooled === undefined) return { info: `not checked: ${probe.reason}` };
	if (!probe.pooled) return { info: `none in transaction mode (${probe.evidence})` };
	return {
		info: `transaction mode (${probe.evidence})`,
		finding: {
			check: "preparedStatementsBehindPooler",
			what: `The ${driver.name} driver prepares statements, and its connections go through a pooler in transaction mode: ${probe.evidence}.`,
			why: 'A pooler in transaction mode (PgBouncer, Supavisor) gives each transaction whichever server session is free: a statement prepared on one session is missing on the next, and requests fail with "prepared statement … does not exist" under load.',
			fix: `Pass preparedStatements: false to createStores (or the driver) in ${project.shown}, then authpg doctor`,
		},
	};
}

/**
 * The event log's month partitions missing for this month and the next ones.
 * An events table that is not partitioned (adopted as it was) is left alone.
 */
async function eventPartitionFindings(driver: Driver, namespace: string): Promise<Finding[]> {
	const table = `${quoteId(namespace)}.${quoteId(EVENT_TABLE)}`;
	const { rows } = await driver.query<{ partitioned: boolean | null; names: string[] | null }>(
		`select c.relkind = 'p' as "partitioned",
		        array(select p.relname::text from pg_catalog.pg_inherits i join pg_catalog.pg_class p on p.oid = i.inhrelid where i.inhparent = c.oid) as "names"
		   from pg_catalog.pg_class c where c.oid = to_regclass($1)`,
		[table],
	);
	const found = rows[0];
	if (!found?.partitioned) return [];
	const have = new Set(found.names ?? []);
	const now = new Date();
	const missing = Array.from({ length: EVENT_PARTITIONS_AHEAD }, (_, i) =>
		eventPartitionName(monthStart(now, i)),
	).filter((name) => !have.has(name));
	if (missing.length === 0) return [];
	return [
		{
			check: "eventPartitions",
			what: `The event log has no partition ${missing.join(", ")}.`,
			why: "Events of a month without its partition land in the default one: retention then deletes them row by row instead of dropping the month, and the month's partition can no longer be created once the default one holds its rows.",
			fix: "authpg prune (it creates the months ahead; schedule it with --schedule)",
		},
	];
}

/**
 * Clear values in columns the config's `seal` covers: left from before sealing
 * was turned on (or written around the adapter). Counts only; never a value.
 */
async function clearSealedFindings(
	driver: Driver,
	project: Project,
	live: LiveSchema,
	schemaOptions: { schema: string; usePlural: boolean },
): Promise<Finding[]> {
	const seal = project.authpg?.seal;
	if (!seal) return [];
	const findings: Finding[] = [];
	for (const c of sealedColumns(project.options, seal, schemaOptions)) {
		if (!live.tables.get(c.table)?.columns.has(c.column)) continue;
		const table = `${quoteId(schemaOptions.schema)}.${quoteId(c.table)}`;
		const col = quoteId(c.column);
		const rule = c.prefixes ? ` and exists (select 1 from unnest($2::text[]) p where starts_with(${col}, p))` : "";
		const { rows } = await driver.query<{ n: string }>(
			`select count(*)::text as "n" from ${table} where ${col} is not null and not starts_with(${col}, $1::text)${rule}`,
			c.prefixes
				? [c.kind === "sealed" ? SEALED_PREFIX : HASHED_PREFIX, c.prefixes]
				: [c.kind === "sealed" ? SEALED_PREFIX : HASHED_PREFIX],
		);
		const n = Number(rows[0]?.n ?? 0);
		if (n === 0) continue;
		findings.push({
			check: "clearSealedValues",
			what: `${n} ${n === 1 ? "value" : "values"} of ${c.field} ${n === 1 ? "is" : "are"} in the clear, though the config ${c.kind === "sealed" ? "seals" : "hashes"} it.`,
			why: "A dump, a backup or a read-only injection shows them as they are: OAuth tokens or verification secrets that open accounts.",
			fix: "authpg keystore seal (seals and hashes them in place, in batches, online)",
		});
	}
	return findings;
}

/** `authpg doctor`: 0 healthy, 1 findings, 2 when the checks could not run. */
export async function doctor(flags: DoctorFlags): Promise<ExitCode> {
	let connection: ReturnType<typeof connect> | undefined;
	try {
		const project = await loadProject(resolve(flags.cwd), flags.config);
		connection = connect(project, flags);
		const driver = connection.driver;
		const schemaOptions = { schema: connection.namespace, usePlural: connection.usePlural };
		const where = await describeDatabase(connection);
		const schema = compileSchema(project.options, schemaOptions);
		const pooler = await poolerCheck(project);
		const plan = await planMigrations(driver, project.options, schemaOptions);
		const live = await introspect(driver, connection.namespace);
		const unindexed = unindexedColumns(schema, live);
		const findings = [
			...(pooler.finding ? [pooler.finding] : []),
			...planFindings(plan, schema.idKind, lookupIndexNames(schema, unindexed)),
			...lookupFindings(unindexed, plan, live, connection.namespace),
			...(await eventPartitionFindings(driver, connection.namespace)),
			...(await clearSealedFindings(driver, project, live, schemaOptions)),
		];
		const foreignKeys = unindexed.filter((c) => c.use === "reference");
		const user = schema.models.find((m) => m.key === "user");
		const email = user?.fields.find((f) => f.key === "email");
		if (user && email && live.tables.get(user.table)?.columns.has(email.column)) {
			const id = quoteId;
			const col = id(email.column);
			const { rows } = await driver.query<{ values: string }>(
				`select string_agg(${col}, ' = ' order by ${col}) as "values" from ${id(connection.namespace)}.${id(user.table)}
				  group by lower(${col}) having count(*) > 1 order by lower(${col}) limit 20`,
				[],
			);
			if (rows.length > 0) {
				findings.push({
					check: "caseDuplicateEmails",
					what: `${rows.length}${rows.length === 20 ? "+" : ""} ${rows.length === 1 ? "email differs" : "emails differ"} only in case: ${rows.map((r) => r.values).join("; ")}.`,
					why: "Better Auth looks users up by the lowercased email: a user stored with capitals cannot sign in, and a unique case-insensitive index cannot be built.",
					fix: "Merge or rename those users, then authpg migrate --unique-insensitive-email",
				});
			}
		}
		const settings = await driver.query<{ version: string; statement: string; idle: string }>(
			`select current_setting('server_version') as "version", current_setting('statement_timeout') as "statement",
			        current_setting('idle_in_transaction_session_timeout') as "idle"`,
			[],
		);
		const s = settings.rows[0]!;
		const expired = await prune(driver, project.options, { ...schemaOptions, dryRun: true });
		const info = {
			server: s.version,
			statement_timeout: s.statement,
			idle_in_transaction_session_timeout: s.idle,
			pooler: pooler.info,
			unindexedForeignKeys: foreignKeys.map((c) => `${c.table}.${c.column}`),
			expiredRows: Object.fromEntries(expired.map((c) => [c.table, c.rows])),
		};
		if (flags.json) {
			out(JSON.stringify({ healthy: findings.length === 0, findings, info }, null, 2));
		} else {
			out(`Doctor for schema "${connection.namespace}" in ${where}`);
			for (const f of findings) out(`\n✗ ${f.what}\n  why: ${f.why}\n  fix: ${f.fix}`);
			out(
				`\nServer ${s.version}; statement_timeout ${s.statement}; idle_in_transaction_session_timeout ${s.idle}${s.idle === "0" ? " (0: an abandoned transaction holds its locks forever)" : ""}.`,
			);
			out(`Pooler: ${pooler.info}.`);
			if (foreignKeys.length > 0) {
				out(
					`Foreign keys without an index (each delete of the row they reference scans their table): ${foreignKeys.map((c) => `${c.table}.${c.column} → ${c.references}`).join(", ")}.`,
				);
			}
			const stale = expired.filter((c) => c.rows > 0);
			out(
				stale.length === 0
					? "No expired rows."
					: `Expired rows: ${stale.map((c) => `${c.table} ${c.rows}`).join(", ")} (authpg prune deletes them).`,
			);
			out(
				findings.length === 0
					? "Healthy: no findings."
					: `${findings.length} finding${findings.length === 1 ? "" : "s"}.`,
			);
		}
		return findings.length === 0 ? Exit.ok : Exit.pending;
	} catch (error) {
		process.stderr.write(`authpg: doctor could not run: ${(error as Error)?.message ?? String(error)}\n`);
		return Exit.usage;
	} finally {
		await connection?.close();
	}
}
