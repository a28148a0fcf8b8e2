/**
 * `authpg events`: the auth event log, newest first (`--follow`: then every
 * new event as it is written, oldest first, until interrupted).
 */
import { resolve } from "node:path";
import { type AuthEvent, type AuthEventType, eventStore, type ListEventsOptions } from "@authpg/core";
import type { EventsFlags } from "../args.js";
import { loadProject } from "../config.js";
import { connect } from "../connection.js";
import { Exit, type ExitCode } from "../exit.js";
import { out } from "../output.js";

const line = (e: AuthEvent) =>
	[
		e.createdAt.toISOString(),
		e.type.padEnd(20),
		e.outcome.padEnd(7),
		`user=${e.userId ?? "-"}`,
		...(e.actorId ? [`actor=${e.actorId}`] : []),
		...(e.sessionId ? [`session=${e.sessionId}`] : []),
		`ip=${e.ipAddress ?? "-"}`,
		...(Object.keys(e.details).length ? [JSON.stringify(e.details)] : []),
		...(e.userAgent ? [`ua=${JSON.stringify(e.userAgent)}`] : []),
	].join("  ");

const print = (e: AuthEvent, json: boolean) => out(json ? JSON.stringify(e) : line(e));

/** `authpg events`. Exit 0. */
export async function eventsCommand(flags: EventsFlags): Promise<ExitCode> {
	const project = await loadProject(resolve(flags.cwd), flags.config);
	const connection = connect(project, flags);
	try {
		const events = eventStore(connection.driver, { schema: connection.namespace });
		const filters: ListEventsOptions = {
			...(flags.user ? { userId: flags.user } : {}),
			...(flags.type ? { type: flags.type as AuthEventType[] } : {}),
			...(flags.since ? { since: flags.since } : {}),
		};
		const page = await events.list({ ...filters, limit: flags.limit });
		if (!flags.follow) {
			if (flags.json) out(JSON.stringify(page.events, null, 2));
			else for (const e of page.events) print(e, false);
			return Exit.ok;
		}
		// Following: what is there, oldest first, then each new event once, as JSON lines with --json.
		const shown = [...page.events].reverse();
		for (const e of shown) print(e, flags.json);
		let since = shown.at(-1)?.createdAt ?? flags.since ?? new Date();
		let seen = new Set(shown.filter((e) => e.createdAt.getTime() === since.getTime()).map((e) => e.id));
		let stopped = false;
		const stop = () => {
			stopped = true;
		};
		process.once("SIGINT", stop);
		process.once("SIGTERM", stop);
		while (!stopped) {
			await new Promise((done) => setTimeout(done, flags.intervalMs));
			const fresh = (await events.list({ ...filters, since, limit: 1000 })).events
				.filter((e) => !seen.has(e.id))
				.reverse();
			for (const e of fresh) print(e, flags.json);
			const last = fresh.at(-1);
			if (last) {
				// `since` is inclusive at millisecond precision: remember what that millisecond already showed.
				if (last.createdAt.getTime() !== since.getTime()) seen = new Set();
				since = last.createdAt;
				for (const e of fresh) if (e.createdAt.getTime() === since.getTime()) seen.add(e.id);
			}
		}
		return Exit.ok;
	} finally {
		await connection.close();
	}
}
