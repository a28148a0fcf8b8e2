/**
 * `authpg keystore rotate-password` as users run it (the built binary, stdin
 * not a terminal, as in CI), and the hidden password prompt on a stand-in
 * terminal.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { startTestDatabase, type TestDatabase } from "@authpg/conformance";
import { type KeystoreJwk, KeystorePasswordError, keyStore } from "@authpg/core";
import { createDriver } from "@authpg/pool";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { askHidden } from "../src/prompt.js";
import { type Run, runCli } from "./run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCHEMA = "cli_keystore";
const PASSWORD = "cli keystore password one";
const NEW_PASSWORD = "cli keystore password two";

const authpg = (cwd: string, env: Record<string, string>, ...args: string[]) => runCli(cwd, args, env);

const passwords = (current: string, next: string) => ({
	AUTHPG_KEYSTORE_PASSWORD: current,
	AUTHPG_KEYSTORE_NEW_PASSWORD: next,
});

function write(file: string, text: string) {
	mkdirSync(dirname(file), { recursive: true });
	writeFileSync(file, text);
}

const fakeKey = (label: string, alg: "EdDSA" | "ES256"): Omit<KeystoreJwk, "id"> => ({
	publicKey: JSON.stringify({ kty: "OKP", x: `public-${label}` }),
	privateKey: JSON.stringify({ kty: "OKP", x: `public-${label}`, d: `private-${label}` }),
	createdAt: new Date(),
	alg,
});

let db: TestDatabase;
let project: string;
let empty: string;
let driver: ReturnType<typeof createDriver>;
let before: KeystoreJwk[];

const vaultVersion = async () =>
	(await driver.query<{ version: number }>(`select version from ${SCHEMA}.authpg_keystore`, [])).rows.map(
		(r) => r.version,
	);
const noSecretsIn = (run: Run, ...secrets: string[]) => {
	for (const secret of secrets) {
		expect(run.stdout).not.toContain(secret);
		expect(run.stderr).not.toContain(secret);
	}
};

beforeAll(async () => {
	db = await startTestDatabase({ prefix: "cli_keystore" });
	driver = createDriver(db.url);
	project = join(here, `.tmp-keystore-${process.pid}-${Date.now().toString(36)}`);
	empty = join(project, "elsewhere");
	mkdirSync(empty, { recursive: true });
	write(join(project, ".env"), `AUTHPG_CLI_TEST_URL=${db.url}\n`);
	write(
		join(project, "auth.ts"),
		`import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import { createStores } from "@authpg/pool";

const stores = createStores({
	connectionString: process.env.AUTHPG_CLI_TEST_URL,
	schema: "${SCHEMA}",
	keystorePassword: process.env.AUTHPG_KEYSTORE_PASSWORD,
});
export const auth = betterAuth(
	stores.applyTo({ emailAndPassword: { enabled: true }, plugins: [jwt({ adapter: stores.keyStore.jwtAdapter })] }),
);
`,
	);
	const migrated = await authpg(project, { AUTHPG_KEYSTORE_PASSWORD: PASSWORD }, "migrate", "--yes");
	expect(migrated.stderr).not.toMatch(/authpg:/);
	expect(migrated.code).toBe(0);
	const store = keyStore(driver, { password: PASSWORD, schema: SCHEMA });
	await store.jwtAdapter.createJwk(fakeKey("a", "EdDSA"));
	await store.jwtAdapter.createJwk(fakeKey("b", "ES256"));
	before = await store.jwtAdapter.getJwks();
	expect(before).toHaveLength(2);
});

afterAll(async () => {
	if (project) rmSync(project, { recursive: true, force: true });
	await driver?.close();
	await db?.close();
});

describe("authpg keystore rotate-password", () => {
	it("without the passwords and without a terminal, exits 2 naming both variables; nothing changes", async () => {
		const run = await authpg(empty, {}, "keystore", "rotate-password", "--url", db.url, "--schema", SCHEMA, "--yes");
		expect(run.code).toBe(2);
		expect(run.stderr).toContain("AUTHPG_KEYSTORE_PASSWORD and AUTHPG_KEYSTORE_NEW_PASSWORD are not set");
		expect(run.stderr).toContain("not a terminal");
		const one = await authpg(
			empty,
			{ AUTHPG_KEYSTORE_PASSWORD: PASSWORD },
			"keystore",
			"rotate-password",
			"--url",
			db.url,
		);
		expect(one.code).toBe(2);
		expect(one.stderr).toMatch(/^authpg: AUTHPG_KEYSTORE_NEW_PASSWORD is not set/);
		noSecretsIn(one, PASSWORD);
		expect(await vaultVersion()).toEqual([1]);
	});

	it("without --yes and without a terminal, refuses (exit 1); nothing changes", async () => {
		const run = await authpg(project, passwords(PASSWORD, NEW_PASSWORD), "keystore", "rotate-password");
		expect(run.code).toBe(1);
		expect(run.stderr).toMatch(/Refused: .*stdin is not a terminal.*--yes/);
		expect(run.stderr).toContain(`vault "default" in schema "${SCHEMA}"`);
		noSecretsIn(run, PASSWORD, NEW_PASSWORD);
		expect(await vaultVersion()).toEqual([1]);
	});

	it("a wrong current password, the same password twice, or an unknown vault exit 2; nothing changes", async () => {
		const [wrong, same, vault] = await Promise.all([
			authpg(project, passwords("a wrong guess", NEW_PASSWORD), "keystore", "rotate-password", "--yes"),
			authpg(project, passwords(PASSWORD, PASSWORD), "keystore", "rotate-password", "--yes"),
			authpg(project, passwords(PASSWORD, NEW_PASSWORD), "keystore", "rotate-password", "--yes", "--vault", "nope"),
		]);
		expect(wrong.code).toBe(2);
		expect(wrong.stderr).toContain(
			`The keystore password does not open key store vault "default" (schema "${SCHEMA}")`,
		);
		noSecretsIn(wrong, "a wrong guess", NEW_PASSWORD);
		expect(same.code).toBe(2);
		expect(same.stderr).toContain("the same as the current one");
		noSecretsIn(same, PASSWORD);
		expect(vault.code).toBe(2);
		expect(vault.stderr).toContain('There is no key store vault "nope"');
		expect(await vaultVersion()).toEqual([1]);
	});

	it("rotates with --yes (exit 0): the old password then fails, the new one reads the same keys", async () => {
		const run = await authpg(project, passwords(PASSWORD, NEW_PASSWORD), "keystore", "rotate-password", "--yes");
		expect(run.stderr).not.toMatch(/authpg:/);
		expect(run.code).toBe(0);
		expect(run.stdout).toMatch(
			new RegExp(
				`^Rotated the keystore password of vault "default" in schema "${SCHEMA}" in database .*: 2 keys re-encrypted, vault version 2 \\(\\d+ ms\\)\\.$`,
				"m",
			),
		);
		expect(run.stdout).toContain("Restart every server with the new password");
		noSecretsIn(run, PASSWORD, NEW_PASSWORD);
		expect(await vaultVersion()).toEqual([2]);
		expect(await keyStore(driver, { password: NEW_PASSWORD, schema: SCHEMA }).jwtAdapter.getJwks()).toEqual(before);
		await expect(keyStore(driver, { password: PASSWORD, schema: SCHEMA }).jwtAdapter.getJwks()).rejects.toBeInstanceOf(
			KeystorePasswordError,
		);
	});

	it("with --url and no config anywhere, --schema names the schema; rotating back works", async () => {
		const run = await authpg(
			empty,
			passwords(NEW_PASSWORD, PASSWORD),
			"keystore",
			"rotate-password",
			"--url",
			db.url,
			"--schema",
			SCHEMA,
			"-y",
		);
		expect(run.stderr).not.toMatch(/authpg:/);
		expect(run.code).toBe(0);
		expect(run.stdout).toContain("2 keys re-encrypted, vault version 3");
		expect(await keyStore(driver, { password: PASSWORD, schema: SCHEMA }).jwtAdapter.getJwks()).toEqual(before);
	});

	it("keystore --help exits 0; an unknown keystore command or flag exits 2", async () => {
		const [help, unknown, flag] = await Promise.all([
			authpg(project, {}, "keystore", "--help"),
			authpg(project, {}, "keystore", "rotate-keys"),
			authpg(project, {}, "keystore", "rotate-password", "--password", "x"),
		]);
		expect(help.code).toBe(0);
		expect(help.stdout).toContain("Usage: authpg keystore rotate-password");
		expect(help.stdout).toContain("AUTHPG_KEYSTORE_NEW_PASSWORD");
		expect(unknown.code).toBe(2);
		expect(unknown.stderr).toContain('Unknown keystore command "rotate-keys"');
		expect(unknown.stderr).toContain("Keystore commands: rotate-password, rotate, seal.");
		expect(help.stdout).toContain("authpg keystore seal");
		expect(flag.code).toBe(2);
		expect(flag.stderr).toContain("authpg keystore rotate-password --help");
	});
});

describe("the hidden password prompt", () => {
	/** A stand-in terminal: raw mode recorded, keystrokes fed in by the test. */
	function terminal() {
		const input = Object.assign(new PassThrough(), {
			isTTY: true,
			isRaw: false,
			setRawMode: vi.fn(function (this: { isRaw: boolean }, mode: boolean) {
				input.isRaw = mode;
			}),
		});
		const output = new PassThrough();
		let shown = "";
		output.on("data", (chunk: Buffer) => {
			shown += chunk.toString();
		});
		return { input, output, shown: () => shown };
	}

	it("reads a line without echoing it, in raw mode, with backspace; control keys are not typed", async () => {
		const t = terminal();
		const answer = askHidden("Password: ", t.input, t.output);
		t.input.write("se\u007fcr");
		t.input.write("e\u001b[Dt\u001bOAx\u00e9\r");
		expect(await answer).toBe("scretx\u00e9");
		expect(t.shown()).toBe("Password: \n");
		expect(t.input.setRawMode.mock.calls).toEqual([[true], [false]]);
	});

	it("Ctrl-C, or Ctrl-D on an empty line, gives up", async () => {
		const t = terminal();
		const interrupted = askHidden("Password: ", t.input, t.output);
		t.input.write("abc\u0003");
		expect(await interrupted).toBeUndefined();
		const ended = askHidden("Password: ", t.input, t.output);
		t.input.write("\u0004");
		expect(await ended).toBeUndefined();
		expect(t.input.isRaw).toBe(false);
	});
});
