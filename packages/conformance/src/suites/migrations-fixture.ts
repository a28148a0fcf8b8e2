import type { Driver } from "@authpg/core";
import { pluginWith } from "./fixture.js";

/** The namespace every migrations suite works in (dropped and re-created by its tests). */
export const NS = "authpg_migrate";

/** A plugin model with every column kind the planner treats apart: arrays, a reference, unique and indexed fields. */
export const arraysPlugin = pluginWith("bag", {
	tags: { type: "string[]", required: false },
	scores: { type: "number[]", required: false },
	ownerId: { type: "string", references: { model: "user", field: "id" }, required: false, index: true },
	code: { type: "string", unique: true, required: true },
});

/** Drop `namespaces` (and all in them). */
export async function reset(driver: Driver, ...namespaces: string[]) {
	for (const ns of namespaces) {
		await driver.query(`drop schema if exists ${ns} cascade`, []);
	}
}
