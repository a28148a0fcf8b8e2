/**
 * `postgresAdapter(driver)`: a Better Auth `DBAdapter` implemented directly
 * (not through `createAdapterFactory`, whose per-call transforms cost more
 * than the query). Everything the factory decides per call is decided once
 * per model in `model.ts`; each call normalises its arguments into a shape
 * key and a value list, takes the compiled statement from the cache, and
 * makes one round trip.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import type { DBAdapter, DBTransactionAdapter, Where } from "@better-auth/core/db/adapter";
import type { Driver } from "../driver/contract.js";
import { AuthpgError, InvalidValueError, SealedFieldQueryError, toQueryError } from "../errors.js";
import { planFresh, planSql } from "../migrations/plan.js";
import type { ModelInfo, SchemaOptions } from "../model.js";
import { type Companion, type CompanionCreate, CREATE_WITH_COMPANION, type CreateArgs } from "./companion.js";
import { AdapterContext } from "./context.js";
import { lockEmailInTransaction } from "./email-lock.js";
import { type FindArgs, findStatement } from "./find.js";
import { type Assignments, assign, increments, inputValue, updateColumns } from "./input.js";
import { outputRow } from "./rows.js";
import type { FieldSealer, Known, SealedModel } from "./sealed-fields.js";
import { fieldsKey, type ShapeOperation, shapeKey } from "./shape.js";
import {
	buildConsumeOne,
	buildCount,
	buildDelete,
	buildIncrementOne,
	buildInsert,
	buildUpdate,
	type Statement,
	withCompanion,
} from "./statements.js";
import { filter } from "./where.js";

/** Options of {@link postgresAdapter}. */
export interface PostgresAdapterOptions extends SchemaOptions {}

type Row = Record<string, unknown>;

/**
 * A Better Auth database adapter over any {@link Driver}. Pass it as
 * `database: postgresAdapter(driver)`; Better Auth calls it with its options.
 */
export function postgresAdapter(
	driver: Driver,
	adapterOptions: PostgresAdapterOptions = {},
): (options: BetterAuthOptions) => DBAdapter<BetterAuthOptions> {
	return sealingAdapter(driver, adapterOptions, undefined);
}

/**
 * {@link postgresAdapter} with sealed and hashed fields (`createStores({ seal })`
 * builds it; the sealer holds the key store's field keys).
 */
export function sealingAdapter(
	driver: Driver,
	adapterOptions: PostgresAdapterOptions,
	sealer: FieldSealer | undefined,
): (options: BetterAuthOptions) => DBAdapter<BetterAuthOptions> {
	return (options) => createAdapter(new AdapterContext(options, adapterOptions, sealer), driver);
}

function run(driver: Driver, op: string, model: ModelInfo, stmt: Statement, values: unknown[]) {
	const params = stmt.plan.map((slot) => values[slot]);
	// A statement is its own QueryOptions (it carries the name): one object less per call.
	return driver.query<Row>(stmt.sql, params, stmt).catch((error: unknown) => {
		throw toQueryError(op, model.key, error);
	});
}

const NOTHING_SET: Assignments = { fields: [], slots: [], key: "" };

function createAdapter(ctx: AdapterContext, driver: Driver, inTransaction = false): DBAdapter<BetterAuthOptions> {
	const { schema, cache } = ctx;
	const ns = schema.namespace;
	// `modelNow` answers synchronously once a model's storage is known, so on the hot path the
	// methods below await nothing but the statement (an `await` of a plain value still costs a
	// promise and a tick, and Better Auth's async hooks make each dearer).
	const modelNow = (name: string) => ctx.known(schema.model(name));
	const modelOf = (name: string) => ctx.stored(schema.model(name), driver);
	const sealer = ctx.sealer as FieldSealer;
	/** The where clause as stored for a sealed model (hashed operands; sealed fields refused). */
	const sealedWhere = (sm: SealedModel, where: Where[] | undefined, known: Known) => sealer.where(sm, where, known);
	/**
	 * The ids of the rows a write of sealed values reaches (each value is bound
	 * to its row id): the where clause's own id equality, else one lookup.
	 */
	const rowIds = async (model: ModelInfo, where: Where[], limit: number): Promise<string[]> => {
		const byId = where.find(
			(w) =>
				w.connector !== "OR" &&
				(w.operator ?? "eq") === "eq" &&
				w.value !== null &&
				w.value !== undefined &&
				model.field(w.field) === model.id,
		);
		if (byId && !where.some((w) => w.connector === "OR")) return [String(byId.value)];
		const rows = await adapter.findMany<Row>({ model: model.key, where, select: ["id"], limit });
		return rows.map((r) => String(r.id));
	};
	const withId = (where: Where[], id: string): Where[] => [
		...where,
		{ field: "id", value: id, operator: "eq", connector: "AND" },
	];
	/** A find on a sealed model: hashed operands, sorts refused, the id selected (its values are bound to it). */
	const sealedFind = async (op: "findOne" | "findMany", model: ModelInfo, sm: SealedModel, args: FindArgs) => {
		const known: Known = new Map();
		const where = await sealedWhere(sm, args.where, known);
		if (args.sortBy) sealer.checkSort(sm, args.sortBy.field);
		let select = args.select;
		const strip =
			!!select?.length &&
			select.some((name) => sm.sealedKeys.has(model.field(name).key)) &&
			!select.some((name) => model.field(name) === model.id);
		if (strip) select = [...select!, "id"];
		const { stmt, values, joins } = findStatement(ctx, op, model, { ...args, where, select });
		if (op === "findOne" && inTransaction) await lockEmailInTransaction(driver, ns, model, where);
		const { rows } = await run(driver, op, model, stmt, values);
		const result: Row[] = [];
		for (const row of rows) {
			const out = (await outputRow(ctx, model, row, joins, known)) as Row;
			if (strip) delete out.id;
			result.push(out);
		}
		return op === "findOne" ? (result[0] ?? null) : result;
	};
	/** Compile (once) and run the statement of shape `key` for `op`. */
	const exec = (
		op: string,
		operation: ShapeOperation,
		model: ModelInfo,
		parts: string[],
		values: unknown[],
		build: () => Statement,
	) => run(driver, op, model, cache.get(shapeKey(operation, model, ...parts), build), values);

	/** `create`, optionally with a companion statement written in the same statement (see `companion.ts`). */
	const createRow = async (
		{ model: modelName, data, select, forceAllowId }: CreateArgs,
		companion?: Companion,
	): Promise<Row | null> => {
		const model = modelNow(modelName) ?? (await modelOf(modelName));
		const input = data as Row;
		let inputs = model.fields.map((field) => ({
			field,
			value:
				field === model.id
					? ctx.newId(model, input.id, forceAllowId === true)
					: inputValue(field, input[field.key], "create"),
		}));
		const sm = ctx.sealedOf(model);
		const known: Known | undefined = sm ? new Map() : undefined;
		if (sm) {
			const id = inputs[0]!.value;
			inputs = await sealer.inputs(sm, inputs, id === undefined || id === null ? undefined : String(id), known!);
		}
		const values: unknown[] = [];
		const assigned = assign(schema.idKind, inputs, values);
		const { fields, slots, key: fieldKey } = assigned instanceof Promise ? await assigned : assigned;
		const returning = select?.length
			? model.fields.filter((f) => select.some((s) => model.field(s) === f))
			: model.fields;
		const parts = [fieldKey, fieldsKey(model, returning)];
		let build = () => buildInsert(ns, model, fields, slots, returning);
		if (companion) {
			// Its values follow the row's; the row's count is fixed by the shape (one per field set).
			const first = values.length;
			values.push(...companion.values);
			parts.push(companion.key);
			build = () => withCompanion(buildInsert(ns, model, fields, slots, model.fields), returning, companion, first);
		}
		const { rows } = await exec("create", "create", model, parts, values, build);
		return outputRow(ctx, model, rows[0], undefined, known) as Row | null;
	};

	const adapter: DBAdapter<BetterAuthOptions> & CompanionCreate = {
		id: "authpg",

		create: (args) => createRow(args) as never,

		async findOne(args) {
			const model = modelNow(args.model) ?? (await modelOf(args.model));
			const sm = ctx.sealedOf(model);
			if (sm) return sealedFind("findOne", model, sm, args) as never;
			const { stmt, values, joins } = findStatement(ctx, "findOne", model, args);
			if (inTransaction) await lockEmailInTransaction(driver, ns, model, args.where);
			const { rows } = await run(driver, "findOne", model, stmt, values);
			return outputRow(ctx, model, rows[0], joins) as never;
		},

		async findMany(args) {
			const model = modelNow(args.model) ?? (await modelOf(args.model));
			const sm = ctx.sealedOf(model);
			if (sm) return sealedFind("findMany", model, sm, args) as never;
			const { stmt, values, joins } = findStatement(ctx, "findMany", model, args);
			const { rows } = await run(driver, "findMany", model, stmt, values);
			const result = [];
			for (const row of rows) {
				const out = outputRow(ctx, model, row, joins);
				result.push(out instanceof Promise ? await out : out);
			}
			return result as never;
		},

		async count({ model: modelName, where: whereInput }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const sm = ctx.sealedOf(model);
			const given = sm ? await sealedWhere(sm, whereInput, new Map()) : whereInput;
			const { values, where, key } = filter(ctx, model, given);
			const { rows } = await exec("count", "count", model, [key], values, () => ({
				...buildCount(ns, model, where()),
				read: { model: model.key, single: false },
			}));
			return Number(rows[0]?.count ?? 0);
		},

		async update({ model: modelName, where: whereInput, update }) {
			// As Better Auth's factory: an update without a where touches nothing.
			if (!whereInput || whereInput.length === 0) return null;
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const sm = ctx.sealedOf(model);
			const known: Known | undefined = sm ? new Map() : undefined;
			let given = whereInput;
			let rowId: string | undefined;
			if (sm && sealer.needsRowId(sm, update as Row)) {
				[rowId] = await rowIds(model, whereInput, 1);
				if (rowId === undefined) return null;
				given = withId(whereInput, rowId);
			}
			if (sm) given = (await sealedWhere(sm, given, known!)) as Where[];
			const { values, where, key } = filter(ctx, model, given);
			const assigned = updateColumns(
				schema.idKind,
				model,
				update as Row,
				values,
				sm ? (inputs) => sealer.inputs(sm, inputs, rowId, known!) : undefined,
			);
			const set = assigned instanceof Promise ? await assigned : assigned;
			if (set.fields.length === 0) return adapter.findOne({ model: modelName, where: whereInput });
			const { rows } = await exec("update", "update", model, [key, set.key], values, () =>
				buildUpdate(ns, model, set.fields, set.slots, where(), true),
			);
			return outputRow(ctx, model, rows[0], undefined, known) as never;
		},

		async updateMany({ model: modelName, where: whereInput, update }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const sm = ctx.sealedOf(model);
			if (sm && sealer.needsRowId(sm, update as Row)) {
				// Each row's value is sealed to its own id: one update per row (a rare path; Better Auth updates tokens by id).
				let count = 0;
				for (const id of await rowIds(model, whereInput ?? [], 2 ** 31 - 1)) {
					if (await adapter.update({ model: modelName, where: withId(whereInput ?? [], id), update })) count++;
				}
				return count;
			}
			const given = sm ? await sealedWhere(sm, whereInput, new Map()) : whereInput;
			const { values, where, key } = filter(ctx, model, given);
			const assigned = updateColumns(
				schema.idKind,
				model,
				update as Row,
				values,
				sm ? (inputs) => sealer.inputs(sm, inputs, undefined, new Map()) : undefined,
			);
			const set = assigned instanceof Promise ? await assigned : assigned;
			if (set.fields.length === 0) {
				throw new InvalidValueError(`updateMany on "${model.key}" has no known field to set.`);
			}
			const result = await exec("updateMany", "updateMany", model, [key, set.key], values, () =>
				buildUpdate(ns, model, set.fields, set.slots, where(), false),
			);
			return result.rowCount;
		},

		async delete({ model: modelName, where: whereInput }) {
			await adapter.deleteMany({ model: modelName, where: whereInput });
		},

		async deleteMany({ model: modelName, where: whereInput }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const sm = ctx.sealedOf(model);
			const given = sm ? await sealedWhere(sm, whereInput, new Map()) : whereInput;
			const { values, where, key } = filter(ctx, model, given);
			const result = await exec("deleteMany", "delete", model, [key], values, () => buildDelete(ns, model, where()));
			return result.rowCount;
		},

		async consumeOne({ model: modelName, where: whereInput }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const sm = ctx.sealedOf(model);
			const known: Known | undefined = sm ? new Map() : undefined;
			const given = sm ? await sealedWhere(sm, whereInput, known!) : whereInput;
			const { values, where, key } = filter(ctx, model, given);
			const { rows } = await exec("consumeOne", "consumeOne", model, [key], values, () =>
				buildConsumeOne(ns, model, where()),
			);
			return outputRow(ctx, model, rows[0], undefined, known) as never;
		},

		async incrementOne({ model: modelName, where: whereInput, increment, set: setInput }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const sm = ctx.sealedOf(model);
			const known: Known | undefined = sm ? new Map() : undefined;
			let given = whereInput;
			let rowId: string | undefined;
			if (sm) {
				for (const name of Object.keys(increment ?? {})) {
					const field = model.field(name);
					if (sm.sealedKeys.has(field.key) || sm.hashedKeys.has(field.key)) {
						throw new SealedFieldQueryError(model.key, field.key, "sealed or hashed");
					}
				}
				if (setInput && sealer.needsRowId(sm, setInput as Row)) {
					[rowId] = await rowIds(model, whereInput ?? [], 1);
					if (rowId === undefined) return null as never;
					given = withId(whereInput ?? [], rowId);
				}
				given = (await sealedWhere(sm, given, known!)) as Where[];
			}
			const { values, where, key } = filter(ctx, model, given);
			const added = increments(model, increment, values);
			const assigned = setInput
				? updateColumns(
						schema.idKind,
						model,
						setInput as Row,
						values,
						sm ? (inputs) => sealer.inputs(sm, inputs, rowId, known!) : undefined,
					)
				: NOTHING_SET;
			const set = assigned instanceof Promise ? await assigned : assigned;
			if (added.fields.length === 0 && set.fields.length === 0) {
				throw new InvalidValueError(`incrementOne on "${model.key}" needs a non-empty \`increment\` or \`set\`.`);
			}
			const { rows } = await exec("incrementOne", "incrementOne", model, [key, added.key, set.key], values, () =>
				buildIncrementOne(ns, model, added.fields, added.slots, set.fields, set.slots, where()),
			);
			return outputRow(ctx, model, rows[0], undefined, known) as never;
		},

		[CREATE_WITH_COMPANION]: (args: CreateArgs, companion: Companion) => createRow(args, companion),

		async transaction<R>(callback: (tx: DBTransactionAdapter<BetterAuthOptions>) => Promise<R>): Promise<R> {
			if (!driver.capabilities.transactions) return callback(adapter);
			let thrown: { error: unknown } | undefined;
			try {
				return await driver.transaction(async (tx) => {
					try {
						return await callback(createAdapter(ctx, tx, true));
					} catch (error) {
						thrown = { error };
						throw error;
					}
				});
			} catch (error) {
				// The callback's own error is the caller's; BEGIN, COMMIT or a lost connection is ours to type.
				if ((thrown && error === thrown.error) || error instanceof AuthpgError) throw error;
				throw toQueryError("transaction", undefined, error);
			}
		},

		async createSchema(options, file) {
			return {
				code: planSql(await planFresh(options, ctx.adapterOptions)),
				path: file ?? "better-auth_migrations/authpg-schema.sql",
			};
		},

		options: {
			adapterConfig: {
				adapterId: "authpg",
				adapterName: `authpg (${driver.name})`,
				usePlural: schema.usePlural,
				supportsJSON: true,
				supportsArrays: true,
				supportsDates: true,
				supportsBooleans: true,
				supportsNumericIds: true,
				supportsUUIDs: true,
				transaction: driver.capabilities.transactions ? (callback) => adapter.transaction(callback as never) : false,
			},
			/** What `authpg` tooling needs to reach this adapter's database. */
			authpg: { driver, schema: schema.namespace, usePlural: schema.usePlural, seal: ctx.sealer?.option },
		},
	};
	return adapter;
}
