/**
 * The loop behind bench/README.md's "Where @authpg/postgres-js loses to its floor": 16 callers
 * looking up a row by a unique key for a few seconds, through `@authpg/postgres-js`'s driver or
 * through postgres.js's own tagged query, on one `postgres()` instance. Prints client CPU per call;
 * run it under `--trace-opt` to count the compiles V8 abandons. Works in a table of its own
 * (`authpg_upstream_loop`, dropped at the end) on the server `DATABASE_URL` names.
 *
 *   cd bench && DATABASE_URL=postgres://… node --import tsx --trace-opt upstream/query-loop.ts driver \
 *     | grep -c "aborted optimizing.*JSFunction Query"
 */
import { postgresJsDriver } from "@authpg/postgres-js";
import postgres from "postgres";

const mode = process.argv[2];
const url = process.env.DATABASE_URL;
if ((mode !== "driver" && mode !== "tagged") || !url) {
	console.error("usage: DATABASE_URL=postgres://… node --import tsx upstream/query-loop.ts driver|tagged");
	process.exit(2);
}
const seconds = 6;
const callers = 16;
const rows = 5000;
const sql = postgres(url, { max: callers, onnotice: () => {}, fetch_types: false });
await sql`create table if not exists authpg_upstream_loop (id text primary key, token text unique, "expiresAt" timestamptz)`;
await sql`insert into authpg_upstream_loop select 'id' || g, 'token' || g, now() from generate_series(1, ${rows}::int) g on conflict do nothing`;
const driver = postgresJsDriver(sql);
const text = `select "id", "token", "expiresAt" from authpg_upstream_loop where "token" = $1 limit 1`;
const lookup =
	mode === "driver"
		? (token: string) => driver.query(text, [token], { name: "upstream_loop" })
		: (token: string) =>
				sql`select "id", "token", "expiresAt" from authpg_upstream_loop where "token" = ${token} limit 1`;

let calls = 0;
const deadline = performance.now() + seconds * 1000;
const before = process.cpuUsage();
await Promise.all(
	Array.from({ length: callers }, async () => {
		while (performance.now() < deadline) {
			await lookup(`token${(calls % rows) + 1}`);
			calls++;
		}
	}),
);
const cpu = process.cpuUsage(before);
console.log(
	`${mode}: ${Math.round(calls / seconds)} calls/s, ${((cpu.user + cpu.system) / calls).toFixed(1)} µs client CPU per call`,
);
await sql`drop table authpg_upstream_loop`;
await sql.end();
