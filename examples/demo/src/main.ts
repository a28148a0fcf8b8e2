/**
 * `pnpm demo`: a real Better Auth server on localhost over authpg (PGlite by
 * default: nothing to install), the planner's output, then a scripted HTTP
 * client. Exit code 0 only when every step passes.
 */
import { type DemoArgs, parseArgs, USAGE } from "./args.js";
import { bold, dim, green, Runner, red } from "./runner.js";
import { demoStores } from "./server.js";
import { type DemoRun, runSteps } from "./steps.js";

async function main(): Promise<number> {
	let args: DemoArgs | "help";
	try {
		args = parseArgs(process.argv.slice(2));
	} catch (error) {
		console.error(`${(error as Error).message}\n\n${USAGE}`);
		return 2;
	}
	if (args === "help") {
		console.log(USAGE);
		return 0;
	}

	const started = performance.now();
	const over = args.driver === "pool" ? "@authpg/pool on your PostgreSQL server" : "@authpg/pglite (Postgres in WASM)";
	console.log(bold(`authpg demo: a Better Auth server over ${over}, then a scripted client over HTTP\n`));
	const stores = demoStores(args);
	const runner = new Runner();
	let run: DemoRun | undefined;
	try {
		run = await runSteps(runner, stores, args);
		const seconds = ((performance.now() - started) / 1000).toFixed(1);
		const total = runner.passed + runner.failed + runner.notRun;
		console.log(
			`\n${runner.ok ? green(`All ${total} steps passed`) : red(`${runner.failed} of ${total} steps failed`)} ${dim(`in ${seconds} s`)}`,
		);
		if (args.serve && run.server && run.client) {
			printCurlHints(run);
			await untilInterrupted();
		}
	} finally {
		await run?.server?.close();
		await stores.close();
	}
	return runner.ok ? 0 : 1;
}

function printCurlHints({ server, client, email }: DemoRun): void {
	const base = server!.baseURL;
	console.log(`
Serving on ${base}/api/auth until Ctrl-C. Try it:

  curl ${base}/api/auth/ok
  curl -c jar -H 'content-type: application/json' -H 'origin: ${base}' \\
       -d '{"name":"You","email":"you@example.com","password":"a long password"}' ${base}/api/auth/sign-up/email
  curl -b jar ${base}/api/auth/get-session
  curl -b jar ${base}/api/auth/token
  curl ${base}/api/auth/jwks

The scripted client's cookies, to act as ${email}:
  curl -H 'cookie: ${client!.cookieHeader()}' ${base}/api/auth/list-sessions

Sign-in is limited to 3 requests a minute per client IP, and this demo just used them up.`);
}

function untilInterrupted(): Promise<void> {
	return new Promise((resolve) => {
		const stop = () => {
			// A second Ctrl-C while shutting down ends the process at once.
			process.once("SIGINT", () => process.exit(130));
			resolve();
		};
		process.once("SIGINT", stop);
		process.once("SIGTERM", stop);
	});
}

main().then(
	(code) => {
		process.exitCode = code;
	},
	(error: unknown) => {
		console.error(error);
		process.exitCode = 1;
	},
);
