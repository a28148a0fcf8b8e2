import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores } from "../src/index.js";

const SCHEMA = "crash";
const OPTIONS = {
	emailAndPassword: { enabled: true },
	baseURL: "http://localhost:3000",
	secret: "authpg-crash-test-secret-0123456789abcdef",
	rateLimit: { enabled: false },
};
const CHILD = fileURLToPath(new URL("./fixtures/crash-child.mjs", import.meta.url));
// Better Auth is the conformance package's dependency, not this one's: the child imports it from there.
const conformance = createRequire(import.meta.url).resolve("@authpg/conformance");
const BETTER_AUTH_URL = pathToFileURL(createRequire(conformance).resolve("better-auth")).href;

/** The slice of Better Auth this test uses (imported from the conformance package's copy). */
interface Auth {
	api: {
		signUpEmail(input: {
			body: { email: string; password: string; name: string };
			returnHeaders: true;
		}): Promise<{ headers: Headers; response: { user: { id: string } } }>;
	};
}
const betterAuth = async (options: object): Promise<Auth> =>
	((await import(BETTER_AUTH_URL)) as { betterAuth(options: object): Auth }).betterAuth(options);

let database: TestDatabase;
let admin: pg.Client;
beforeAll(async () => {
	database = await startTestDatabase({ prefix: "pool_events_crash" });
	admin = new pg.Client(database.url);
	await admin.connect();
});
afterAll(async () => {
	await admin?.end();
	await database?.close();
});

const count = async (sql: string, values: unknown[]) => Number((await admin.query(sql, values)).rows[0].n);

describe("event log: a process killed before its commit", () => {
	it("leaves neither the changes nor their events (SIGKILL between the writes and COMMIT)", async () => {
		const stores = createStores({ connectionString: database.url, schema: SCHEMA, events: true });
		try {
			await stores.migrate(OPTIONS);
			const auth = await betterAuth(stores.applyTo(OPTIONS));
			const victim = await auth.api.signUpEmail({
				body: { email: "victim@example.com", password: "victim password", name: "Victim" },
				returnHeaders: true,
			});
			const cookie = victim.headers.get("set-cookie")!.split(";")[0]!;
			const victimId = victim.response.user.id;
			const eventsBefore = await count(`select count(*) as n from ${SCHEMA}.authpg_event`, []);
			const applicationName = `authpg_crash_${process.pid}`;

			const child = spawn(
				process.execPath,
				[CHILD, database.url, SCHEMA, "crashed@example.com", cookie, applicationName],
				{
					env: { ...process.env, BETTER_AUTH_URL, AUTH_OPTIONS: JSON.stringify(OPTIONS) },
					stdio: ["ignore", "pipe", "pipe"],
				},
			);
			let stderr = "";
			child.stderr.on("data", (chunk) => {
				stderr += chunk;
			});
			const exited = new Promise<NodeJS.Signals | null>((resolve) =>
				child.on("exit", (_code, signal) => resolve(signal)),
			);
			const said = await new Promise<{ userId: string }>((resolve, reject) => {
				let out = "";
				child.stdout.on("data", (chunk) => {
					out += chunk;
					if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))));
				});
				child.on("exit", () => reject(new Error(`the child exited before writing: ${stderr}`)));
			});

			// The writes are made and held: the child's backend sits in its open transaction.
			const open = await count(
				`select count(*) as n from pg_stat_activity where application_name = $1 and state = 'idle in transaction'`,
				[applicationName],
			);
			expect(open).toBe(1);
			child.kill("SIGKILL");
			expect(await exited).toBe("SIGKILL");
			// The server rolls the transaction back when it sees the connection gone.
			await expect
				.poll(
					() => count(`select count(*) as n from pg_stat_activity where application_name = $1`, [applicationName]),
					{
						timeout: 20_000,
					},
				)
				.toBe(0);

			expect(await count(`select count(*) as n from ${SCHEMA}."user" where email = 'crashed@example.com'`, [])).toBe(0);
			expect(await count(`select count(*) as n from ${SCHEMA}.session where "userId" = $1`, [said.userId])).toBe(0);
			expect(await count(`select count(*) as n from ${SCHEMA}.session where "userId" = $1`, [victimId])).toBe(1);
			expect(await count(`select count(*) as n from ${SCHEMA}.authpg_event`, [])).toBe(eventsBefore);
			expect(
				await count(`select count(*) as n from ${SCHEMA}.authpg_event where user_id = any($1)`, [
					[said.userId, victimId],
				]),
			).toBe(2); // the victim's sign-up: user.created, session.created; no sign_out
		} finally {
			await stores.close();
		}
	});
});
