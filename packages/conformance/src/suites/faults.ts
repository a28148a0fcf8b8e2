import { ConnectionError, type Driver, QueryTimeoutError } from "@authpg/core";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createDatabase, databaseName, withDatabase } from "../harness/database-server.js";
import { freshAdapter, pluginWith, user } from "./fixture.js";

const NS = "authpg_faults";

/** How a fault test wants its driver connected. */
export interface FaultConnectOptions {
	/** `application_name` of every connection, so the test can find them in `pg_stat_activity`. */
	applicationName: string;
	/** Most connections the driver may open (a single-connection driver opens one whatever this says). */
	max: number;
	/** The server-side `statement_timeout` of every connection, in milliseconds. */
	statementTimeoutMs?: number;
	/** The driver's own (client-side) query timeout, in milliseconds; only asked of a target with `queryTimeout`. */
	queryTimeoutMs?: number;
}

/** A driver that holds connections, under fault tests. */
export interface FaultTarget {
	/** Label in test names, e.g. `"pool"`. */
	name: string;
	/** A new driver on `url` with `options` applied through the driver's own configuration; the suite closes it. */
	connect(url: string, options: FaultConnectOptions): Driver | Promise<Driver>;
	/** The driver holds one connection whatever `max` says (e.g. `@authpg/node-postgres`). */
	singleConnection?: boolean;
	/** The driver has a client-side query timeout (`queryTimeoutMs`), e.g. pg's `query_timeout`. */
	queryTimeout?: boolean;
}

/** What the fault suite runs on. */
export interface FaultContext {
	/** A database of the suite's own on the shared test server. */
	url: () => string;
	/** A server of the suite's own that it may stop and start again (never a shared one). */
	restartable: () => Promise<{
		adminUrl: string;
		pause(): Promise<void>;
		resume(): Promise<void>;
		stop(): Promise<void>;
	}>;
}

let seq = 0;
const appName = (target: FaultTarget, what: string) => `authpg_${target.name}_${what}_${++seq}`.slice(0, 63);

async function withAdmin<T>(url: string, work: (admin: pg.Client) => Promise<T>): Promise<T> {
	const admin = new pg.Client({ connectionString: url });
	// A terminated session must surface as a rejected query, not crash the worker.
	admin.on("error", () => {});
	await admin.connect();
	try {
		return await work(admin);
	} finally {
		await admin.end().catch(() => {});
	}
}

/** Poll until `check` returns a value other than undefined. */
async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** The pids of `app`'s connections, optionally only those waiting on a lock. */
async function pidsOf(admin: pg.Client, app: string, waitingOnLock = false): Promise<number[]> {
	// Inside a transaction the statistics views are a snapshot taken on first access.
	await admin.query("select pg_stat_clear_snapshot()");
	const { rows } = await admin.query<{ pid: number }>(
		`select pid from pg_stat_activity where application_name = $1 and ($2::boolean is false or wait_event_type = 'Lock')`,
		[app, waitingOnLock],
	);
	return rows.map((r) => r.pid);
}

/** What {@link withLockedUser} hands its work. */
interface LockedUser {
	driver: Driver;
	adapter: Awaited<ReturnType<typeof freshAdapter>>;
	/** The one user, whose row `admin` holds locked. */
	created: { id: string; name: string };
	where: { field: string; value: string }[];
	/** In a transaction that holds `created`'s row `for update`; `work` rolls it back. */
	admin: pg.Client;
}

/**
 * `work` with a driver for `target` connected with `options` (closed afterwards), an adapter on a
 * fresh schema holding one user, and an admin session holding that user's row locked.
 */
async function withLockedUser(
	target: FaultTarget,
	url: string,
	options: FaultConnectOptions,
	work: (locked: LockedUser) => Promise<void>,
): Promise<void> {
	const driver = await target.connect(url, options);
	try {
		const adapter = await freshAdapter(driver, NS);
		const created = await adapter.create<{ id: string; name: string }>({ model: "user", data: user() });
		const where = [{ field: "id", value: created.id }];
		await withAdmin(url, async (admin) => {
			await admin.query("begin");
			await admin.query(`select 1 from ${NS}."user" where id = $1 for update`, [created.id]);
			await work({ driver, adapter, created, where, admin });
		});
	} finally {
		await driver.close();
	}
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
	return promise.then(
		() => {
			throw new Error("expected the call to fail");
		},
		(error: unknown) => error,
	);
}

/**
 * Faults for drivers that hold connections: backends killed during a query and
 * during a transaction, a server restart under a running pool, statement
 * timeouts, and the connection limit under 500 concurrent calls.
 */
export function faultsSuite(target: FaultTarget, context: FaultContext) {
	describe("faults", () => {
		it("a backend killed during a query: ConnectionError, nothing written, the next call runs on a new connection", async () => {
			const app = appName(target, "kill_query");
			const options = { applicationName: app, max: 2 };
			await withLockedUser(target, context.url(), options, async ({ driver, adapter, created, where, admin }) => {
				const blocked = rejection(adapter.update({ model: "user", where, update: { name: "never" } }));
				const [pid] = await until(async () => {
					const pids = await pidsOf(admin, app, true);
					return pids.length ? pids : undefined;
				}, "the update to wait on the row lock");
				await admin.query("select pg_terminate_backend($1)", [pid]);
				const error = await blocked;
				expect(error).toBeInstanceOf(ConnectionError);
				expect(error).toMatchObject({ code: "CONNECTION_FAILED" });
				expect((error as Error).message).toMatch(/^update on "user" failed: .*connection/i);
				await admin.query("rollback");
				// The client hears the FATAL before the backend has exited: its pg_stat_activity row goes a moment later.
				await until(async () => ((await pidsOf(admin, app)).includes(pid!) ? undefined : true), "the kill");
				const found = await adapter.findOne<{ name: string }>({ model: "user", where });
				expect(found?.name).toBe(created.name);
				const after = await driver.query<{ pid: number }>("select pg_backend_pid() as pid", []);
				expect(after.rows[0]?.pid).not.toBe(pid);
			});
		});

		it("a backend killed inside a transaction (between statements, and during one): rolled back, nothing half-written, a typed error, then a new connection", async () => {
			const app = appName(target, "kill_tx");
			const driver = await target.connect(context.url(), { applicationName: app, max: 2 });
			try {
				const adapter = await freshAdapter(driver, NS);
				const locked = await adapter.create<{ id: string }>({ model: "user", data: user({ name: "locked" }) });
				await withAdmin(context.url(), async (admin) => {
					const killed: number[] = [];
					// 1. Killed while the transaction waits between two statements.
					let inside!: () => void;
					const isInside = new Promise<void>((resolve) => {
						inside = resolve;
					});
					let resume!: () => void;
					const resumed = new Promise<void>((resolve) => {
						resume = resolve;
					});
					const first = rejection(
						adapter.transaction(async (tx) => {
							const u = await tx.create<{ id: string }>({ model: "user", data: user({ name: "half-1" }) });
							await tx.create({
								model: "session",
								data: {
									userId: u.id,
									token: "half-1",
									expiresAt: new Date(),
									createdAt: new Date(),
									updatedAt: new Date(),
								},
							});
							inside();
							await resumed;
							await tx.create({ model: "user", data: user({ name: "half-1b" }) });
						}),
					);
					await isInside;
					const [idle] = await until(async () => {
						await admin.query("select pg_stat_clear_snapshot()");
						const { rows } = await admin.query<{ pid: number }>(
							"select pid from pg_stat_activity where application_name = $1 and state like 'idle in transaction%'",
							[app],
						);
						return rows.length ? rows.map((r) => r.pid) : undefined;
					}, "the transaction to be idle in transaction");
					await admin.query("select pg_terminate_backend($1)", [idle]);
					killed.push(idle!);
					await until(async () => ((await pidsOf(admin, app)).includes(idle!) ? undefined : true), "the kill");
					resume();
					const firstError = await first;
					expect(firstError).toBeInstanceOf(ConnectionError);

					// 2. Killed while a statement of the transaction waits on a row lock.
					await admin.query("begin");
					await admin.query(`select 1 from ${NS}."user" where id = $1 for update`, [locked.id]);
					const second = rejection(
						adapter.transaction(async (tx) => {
							await tx.create({ model: "user", data: user({ name: "half-2" }) });
							await tx.update({
								model: "user",
								where: [{ field: "id", value: locked.id }],
								update: { name: "never" },
							});
						}),
					);
					const [waiting] = await until(async () => {
						const pids = await pidsOf(admin, app, true);
						return pids.length ? pids : undefined;
					}, "the transaction's update to wait on the row lock");
					await admin.query("select pg_terminate_backend($1)", [waiting]);
					killed.push(waiting!);
					const secondError = await second;
					expect(secondError).toBeInstanceOf(ConnectionError);
					await admin.query("rollback");

					// Nothing of either transaction reached the table; seen from another connection.
					const { rows } = await admin.query<{ name: string }>(`select name from ${NS}."user" order by name`);
					expect(rows.map((r) => r.name)).toEqual(["locked"]);
					const sessions = await admin.query(`select 1 from ${NS}."session"`);
					expect(sessions.rowCount).toBe(0);

					// The next calls, a transaction included, run on new connections.
					await adapter.transaction(async (tx) => {
						await tx.create({ model: "user", data: user({ name: "after" }) });
					});
					expect(await adapter.count({ model: "user" })).toBe(2);
					const after = await driver.query<{ pid: number }>("select pg_backend_pid() as pid", []);
					expect(killed).not.toContain(after.rows[0]?.pid);
				});
			} finally {
				await driver.close();
			}
		});

		it("statement_timeout: a statement held up too long fails with QueryTimeoutError, keeps nothing, and the driver carries on", async () => {
			const options = { applicationName: appName(target, "timeout"), max: 2, statementTimeoutMs: 300 };
			await withLockedUser(target, context.url(), options, async ({ adapter, created, where, admin }) => {
				const started = Date.now();
				const single = await rejection(adapter.update({ model: "user", where, update: { name: "never" } }));
				expect(single).toBeInstanceOf(QueryTimeoutError);
				expect(single).toMatchObject({ code: "QUERY_TIMEOUT", sqlState: "57014" });
				expect((single as Error).message).toMatch(/statement timeout.*statement_timeout/);
				expect(Date.now() - started).toBeLessThan(5_000);
				const inTransaction = await rejection(
					adapter.transaction(async (tx) => {
						await tx.create({ model: "user", data: user({ name: "half" }) });
						await tx.update({ model: "user", where, update: { name: "never" } });
					}),
				);
				expect(inTransaction).toBeInstanceOf(QueryTimeoutError);
				await admin.query("rollback");
				expect(await adapter.count({ model: "user" })).toBe(1);
				expect((await adapter.findOne<{ name: string }>({ model: "user", where }))?.name).toBe(created.name);
				await adapter.update({ model: "user", where, update: { name: "now" } });
				expect((await adapter.findOne<{ name: string }>({ model: "user", where }))?.name).toBe("now");
			});
		});

		if (target.queryTimeout) {
			it("the driver's query timeout: QueryTimeoutError, and the busy connection is replaced, not waited for", async () => {
				const app = appName(target, "query_timeout");
				const options = { applicationName: app, max: 1, queryTimeoutMs: 200 };
				await withLockedUser(target, context.url(), options, async ({ driver, adapter, where, admin }) => {
					const [busy] = await Promise.all([
						until(async () => {
							const pids = await pidsOf(admin, app, true);
							return pids.length ? pids[0] : undefined;
						}, "the update to wait on the row lock"),
						rejection(adapter.update({ model: "user", where, update: { name: "late" } })).then((error) => {
							expect(error).toBeInstanceOf(QueryTimeoutError);
							expect((error as Error).message).toMatch(/may still have run/);
						}),
					]);
					// The timed-out statement still waits on the lock, held until the rollback below: a call queued
					// behind it would never answer first. The 10 s only turns such a hang into a failure.
					const queued = new Promise((resolve) => setTimeout(resolve, 10_000, "still waiting after 10 s").unref());
					expect(await Promise.race([adapter.count({ model: "user" }), queued])).toBe(1);
					const after = await driver.query<{ pid: number }>("select pg_backend_pid() as pid", []);
					expect(after.rows[0]?.pid).not.toBe(busy);
					await admin.query("rollback");
				});
			});
		}

		it("500 concurrent calls never open more than the configured maximum of connections, and all of them count", async () => {
			const max = 4;
			const expected = target.singleConnection ? 1 : max;
			const app = appName(target, "limit");
			const driver = await target.connect(context.url(), { applicationName: app, max });
			try {
				const options = pluginWith("counter", { hits: { type: "number", required: true, defaultValue: 0 } });
				const adapter = await freshAdapter(driver, NS, options);
				const counter = await adapter.create<{ id: string }>({ model: "counter", data: {} });
				const where = [{ field: "id", value: counter.id }];
				await withAdmin(context.url(), async (admin) => {
					let peak = 0;
					let sampling = true;
					const sampler = (async () => {
						while (sampling) {
							peak = Math.max(peak, (await pidsOf(admin, app)).length);
							await new Promise((resolve) => setTimeout(resolve, 5));
						}
					})();
					try {
						// Hold the row so the calls pile up: every connection the driver opens is then busy at once.
						await withAdmin(context.url(), async (holder) => {
							await holder.query("begin");
							await holder.query(`select 1 from ${NS}.counter where id = $1 for update`, [counter.id]);
							const calls = Promise.all(
								Array.from({ length: 500 }, () =>
									adapter.incrementOne({ model: "counter", where, increment: { hits: 1 } }),
								),
							);
							try {
								await until(
									async () => ((await pidsOf(admin, app, true)).length >= expected ? true : undefined),
									`${expected} connections waiting on the row lock`,
								);
								// Give a misbehaving driver time to open more.
								await new Promise((resolve) => setTimeout(resolve, 300));
								expect((await pidsOf(admin, app)).length).toBe(expected);
							} finally {
								await holder.query("commit");
							}
							const results = await calls;
							expect(results.every((r) => r !== null)).toBe(true);
						});
					} finally {
						sampling = false;
						await sampler;
					}
					expect(peak).toBe(expected);
				});
				expect((await adapter.findOne<{ hits: number }>({ model: "counter", where }))?.hits).toBe(500);
			} finally {
				await driver.close();
			}
		});

		it("the server restarted under a running driver: calls fail clearly while it is down, and recover when it is back", async () => {
			const server = await context.restartable();
			const name = databaseName(`${target.name}_restart`);
			await createDatabase(server.adminUrl, name);
			const url = withDatabase(server.adminUrl, name);
			const driver = await target.connect(url, { applicationName: appName(target, "restart"), max: 3 });
			try {
				const adapter = await freshAdapter(driver, NS);
				// Several at once, so a pooling driver holds several connections when the server goes.
				await Promise.all(Array.from({ length: 6 }, () => adapter.create({ model: "user", data: user() })));
				await server.pause();
				const started = Date.now();
				for (let i = 0; i < 4; i++) {
					const error = await rejection(adapter.count({ model: "user" }));
					expect(error).toBeInstanceOf(ConnectionError);
					expect((error as Error).message).toMatch(/connection/i);
				}
				const inTransaction = await rejection(adapter.transaction((tx) => tx.create({ model: "user", data: user() })));
				expect(inTransaction).toBeInstanceOf(ConnectionError);
				// Failing, not hanging: each call gave up at once.
				expect(Date.now() - started).toBeLessThan(10_000);
				await server.resume();
				await until(
					() =>
						adapter.count({ model: "user" }).then(
							(n) => n,
							() => undefined,
						),
					"the driver to reach the restarted server",
					20_000,
				);
				const counts = await Promise.all(Array.from({ length: 20 }, () => adapter.count({ model: "user" })));
				expect(counts).toEqual(Array.from({ length: 20 }, () => 6));
				await adapter.transaction((tx) => tx.create({ model: "user", data: user() }));
				expect(await adapter.count({ model: "user" })).toBe(7);
			} finally {
				await driver.close();
			}
		});
	});
}
