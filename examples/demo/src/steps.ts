/** The scripted client: every step talks HTTP to the running server, as a browser or an API client would. */
import type { Stores } from "@authpg/core";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import type { DemoArgs } from "./args.js";
import { Client } from "./client.js";
import { check, dim, type Runner } from "./runner.js";
import { type DemoServer, demoAuthOptions, SCHEMA, SIGN_IN_LIMIT, startServer } from "./server.js";

const PASSWORD = "correct horse battery staple";

/** What the steps leave behind for `--serve`. */
export interface DemoRun {
	server: DemoServer | undefined;
	client: Client | undefined;
	email: string;
}

interface User {
	id: string;
	email: string;
}

/** Run every step on `stores`; the server stays up (the caller closes it). */
export async function runSteps(runner: Runner, stores: Stores, args: DemoArgs): Promise<DemoRun> {
	const run: DemoRun = { server: undefined, client: undefined, email: `ada-${Date.now().toString(36)}@example.com` };
	const { email } = run;

	await runner.step(args.driver === "pool" ? "connect to PostgreSQL" : "start PGlite", async () => {
		const { rows } = await stores.driver.query<{ version: string }>("select version() as version", []);
		const version = rows[0]?.version ?? "";
		check(/PostgreSQL \d+/.test(version), `unexpected version() answer: ${version}`);
		if (args.driver === "pool") {
			// The demo's own namespace, so a run never touches anything else in the database.
			await stores.driver.query(`drop schema if exists "${SCHEMA}" cascade`, []);
			return {
				result: undefined,
				detail: [version.split(" on ")[0]!, dim(`schema "${SCHEMA}" dropped and re-created; ${redact(args.url!)}`)],
			};
		}
		const pglite = /\(PGlite ([^)]+)\)/.exec(version)?.[1];
		return {
			result: undefined,
			detail: `PGlite ${pglite} (${version.split(" (")[0]}), in memory: nothing to install or run`,
		};
	});

	await runner.step("plan and apply the schema", async () => {
		const options = demoAuthOptions(stores);
		const plan = await stores.migrate(options);
		check(plan.steps.length > 0, "the first plan on an empty schema has no steps");
		check(plan.blockers.length === 0, `blockers: ${plan.blockers.map((b) => b.message).join("; ")}`);
		const again = await stores.migrate(options);
		check(again.steps.length === 0, `a second plan right after applying has ${again.steps.length} steps`);
		const safe = plan.steps.filter((s) => s.safety === "safe").length;
		const width = Math.max(...plan.steps.map((s) => `${s.kind} ${s.target}`.length));
		const lines = plan.steps.flatMap((s, i) => {
			const line = `${String(i + 1).padStart(2)}. ${`${s.kind} ${s.target}`.padEnd(width)}  [${s.safety}]`;
			return args.sql ? [line, ...s.sql.split("\n").map((l) => dim(`      ${l}`))] : [line];
		});
		return {
			result: undefined,
			detail: [
				`${plan.steps.length} steps (${safe} safe) in schema "${plan.namespace}", applied in one transaction; planning again finds nothing`,
				...lines,
			],
		};
	});

	const server = await runner.step("start Better Auth", async () => {
		const started = await startServer(stores, args.port);
		run.server = started;
		return { result: started, detail: `listening on ${started.baseURL}/api/auth (organization and JWT plugins)` };
	});
	const client = server && new Client(server.baseURL);
	run.client = client;

	const user = await runner.step("sign up", async () => {
		const reply = await client!.post("/api/auth/sign-up/email", { name: "Ada Lovelace", email, password: PASSWORD });
		check(reply.status === 200, `POST /api/auth/sign-up/email answered ${reply.status}: ${JSON.stringify(reply.body)}`);
		const created = (reply.body as { user?: User }).user;
		check(created?.email === email, "the response holds no user with that email");
		return { result: created, detail: `POST /api/auth/sign-up/email → 200, user ${created.id} <${email}>` };
	});

	await runner.step("sign in", async () => {
		const before = client!.cookieHeader();
		const reply = await client!.post("/api/auth/sign-in/email", { email, password: PASSWORD });
		check(reply.status === 200, `POST /api/auth/sign-in/email answered ${reply.status}: ${JSON.stringify(reply.body)}`);
		check((reply.body as { user?: User }).user?.id === user!.id, "signed in as someone else");
		check(
			client!.cookieHeader() !== before && client!.cookieHeader().includes("session_token"),
			"no new session cookie was set",
		);
		return { result: undefined, detail: "POST /api/auth/sign-in/email → 200, new session cookie" };
	});

	await runner.step("get session", async () => {
		const reply = await client!.get("/api/auth/get-session");
		const body = reply.body as { user?: User; session?: { userId: string; expiresAt: string } } | null;
		check(reply.status === 200 && body?.user, `GET /api/auth/get-session answered ${reply.status} without a user`);
		check(body.user.email === email && body.session?.userId === user!.id, "the session belongs to someone else");
		return {
			result: undefined,
			detail: `GET /api/auth/get-session → 200, ${body.user.email}, expires ${body.session.expiresAt}`,
		};
	});

	await runner.step("list sessions", async () => {
		const reply = await client!.get("/api/auth/list-sessions");
		const sessions = reply.body as { userId: string }[];
		check(reply.status === 200 && Array.isArray(sessions), `GET /api/auth/list-sessions answered ${reply.status}`);
		// One from signing up (Better Auth signs the new user in), one from signing in.
		check(sessions.length === 2, `expected 2 sessions (sign-up and sign-in), got ${sessions.length}`);
		check(
			sessions.every((s) => s.userId === user!.id),
			"a listed session belongs to someone else",
		);
		return { result: undefined, detail: "GET /api/auth/list-sessions → 200, 2 sessions (sign-up, sign-in)" };
	});

	await runner.step("create an organization", async () => {
		const slug = `acme-${Date.now().toString(36)}`;
		const reply = await client!.post("/api/auth/organization/create", { name: "Acme", slug });
		const org = reply.body as { id?: string; slug?: string; members?: { userId: string; role: string }[] };
		check(
			reply.status === 200 && org.id,
			`POST /api/auth/organization/create answered ${reply.status}: ${JSON.stringify(org)}`,
		);
		const list = await client!.get("/api/auth/organization/list");
		const listed = (list.body as { id: string }[]).some((o) => o.id === org.id);
		check(listed, "the new organization is missing from GET /api/auth/organization/list");
		const role = org.members?.find((m) => m.userId === user!.id)?.role;
		check(role === "owner", `expected the creator to be its owner, got role ${role}`);
		return {
			result: undefined,
			detail: `POST /api/auth/organization/create → 200, "Acme" (${slug}), Ada is owner; listed by /organization/list`,
		};
	});

	const token = await runner.step("fetch a JWT", async () => {
		const reply = await client!.get("/api/auth/token");
		const jwt = (reply.body as { token?: string }).token;
		check(reply.status === 200 && typeof jwt === "string", `GET /api/auth/token answered ${reply.status}`);
		const { alg, kid } = decodeProtectedHeader(jwt);
		return { result: jwt, detail: `GET /api/auth/token → 200, ${alg} token, key ${kid}` };
	});

	await runner.step("verify the JWT against the server's JWKS", async () => {
		const base = server!.baseURL;
		const jwks = createRemoteJWKSet(new URL("/api/auth/jwks", base));
		const { payload } = await jwtVerify(token!, jwks, { issuer: base, audience: base });
		check(payload.sub === user!.id, `the token's subject is ${payload.sub}, not the user`);
		// The JWT plugin's key pair lives in authpg's key store: the private half only encrypted.
		const { rows } = await stores.driver.query<{ row: string }>(
			`select row_to_json(k)::text as row from "${SCHEMA}".authpg_keystore_key k`,
			[],
		);
		check(rows.length > 0, "no signing key in the key store");
		check(
			rows.every((r) => !r.row.includes('\\"d\\"') && !r.row.includes('"d":')),
			"a private key parameter is stored in the clear",
		);
		return {
			result: undefined,
			detail: [
				`GET /api/auth/jwks → signature valid (jose), sub = ${payload.sub}, iss = aud = ${base}`,
				dim(
					`signing key stored AES-256-GCM encrypted in "${SCHEMA}".authpg_keystore_key; no private parameter in the clear`,
				),
			],
		};
	});

	await runner.step("hit the rate limit", async () => {
		// The sign-in above was the first request in this window; the rest of the allowance goes on wrong passwords.
		const statuses: number[] = [];
		let reply: Awaited<ReturnType<Client["post"]>> | undefined;
		for (let i = 1; i < SIGN_IN_LIMIT.max + 1; i++) {
			reply = await client!.post("/api/auth/sign-in/email", { email, password: "wrong password" });
			statuses.push(reply.status);
		}
		const allowed = statuses.slice(0, -1);
		check(
			allowed.every((s) => s === 401),
			`sign-ins ${allowed.map((_, i) => i + 2).join(", ")} should fail with 401 (wrong password), got ${allowed.join(", ")}`,
		);
		check(reply?.status === 429, `sign-in ${SIGN_IN_LIMIT.max + 1} should get 429, got ${reply?.status}`);
		const retryAfter = Number(reply.headers.get("x-retry-after"));
		check(retryAfter > 0 && retryAfter <= SIGN_IN_LIMIT.window, `X-Retry-After is ${retryAfter}`);
		return {
			result: undefined,
			detail: [
				`POST /api/auth/sign-in/email ×${statuses.length} more → ${statuses.join(", ")}: the ${ordinal(SIGN_IN_LIMIT.max + 1)} in a minute is refused (limit ${SIGN_IN_LIMIT.max}/${SIGN_IN_LIMIT.window} s), X-Retry-After: ${retryAfter}`,
				dim(`counted in "${SCHEMA}".authpg_rate_limit, one atomic statement per request`),
			],
		};
	});

	return run;
}

function ordinal(n: number): string {
	return `${n}${n === 1 ? "st" : n === 2 ? "nd" : n === 3 ? "rd" : "th"}`;
}

/** The URL without its password, for printing. */
function redact(url: string): string {
	try {
		const parsed = new URL(url);
		if (parsed.password) parsed.password = "***";
		return parsed.toString();
	} catch {
		return "the given URL";
	}
}
