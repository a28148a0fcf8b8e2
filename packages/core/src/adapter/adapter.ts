/**
 * `postgresAdapter(driver)`: a Better Auth `DBAdapter` implemented directly
 * (not through `createAdapterFactory`, whose per-call transforms cost more
 * than the query). Everything the factory decides per call is decided once
 * per model in `model.ts`; each call normalises its arguments into a shape
 * key and a value list, takes the compiled statement from the cache, and
 * makes one round trip.
 */
import type { BetterAuthOptions } from "@better-auth/core";
import type { DBAdapter, DBTransactionAdapter, JoinOption, Where } from "@better-auth/core/db/adapter";
import { AdapterContext } from "./context.js";
import {
	buildConsumeOne,
	buildCount,
	buildDelete,
	buildIncrementOne,
	buildInsert,
	buildSelect,
	buildUpdate,
	LIMIT_ONE,
	type Statement,
	statementName,
} from "./statements.js";
import type { Driver } from "../driver/contract.js";
import { AuthpgError, InvalidValueError, toQueryError } from "../errors.js";
import { assign, inputValue, updateColumns } from "./input.js";
import { resolveJoins } from "./join.js";
import { planFresh, planSql } from "../migrations/apply.js";
import type { FieldInfo, ModelInfo, SchemaOptions } from "../model.js";
import { applyOutputTransforms, applyRules } from "./values.js";
import { type Condition, normalizeWhere } from "./where.js";

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
	return (options) => createAdapter(new AdapterContext(options, adapterOptions), driver);
}

function run(driver: Driver, op: string, model: ModelInfo, stmt: Statement, values: unknown[]) {
	const params = stmt.plan.map((slot) => values[slot]);
	// A statement is its own QueryOptions (it carries the name): one object less per call.
	return driver.query<Row>(stmt.sql, params, stmt).catch((error: unknown) => {
		throw toQueryError(op, model.key, error);
	});
}

/**
 * Taken by a transaction's lookup of a user by email, until it ends. Better
 * Auth's sign-up runs find-by-email then create in one transaction; at READ
 * COMMITTED two concurrent sign-ups with one email would both find nothing,
 * and the loser would fail on the unique index with a generic "failed to
 * create user". Serialised here, the second lookup sees the first user, and
 * Better Auth answers as for any existing email.
 */
const EMAIL_LOCK = "select pg_advisory_xact_lock(hashtextextended($1, 0))";
const EMAIL_LOCK_NAME = statementName(EMAIL_LOCK);

function lockedEmail(model: ModelInfo, where: Where[] | undefined): string | undefined {
	if (model.key !== "user" || where?.length !== 1) return undefined;
	const [w] = where as [Where];
	if ((w.operator ?? "eq") !== "eq" || typeof w.value !== "string" || w.field !== "email") return undefined;
	return w.value;
}

function createAdapter(ctx: AdapterContext, driver: Driver, inTransaction = false): DBAdapter<BetterAuthOptions> {
	const { schema, cache } = ctx;
	const ns = schema.namespace;
	// `modelNow` answers synchronously once a model's storage is known, so on the hot path the
	// methods below await nothing but the statement (an `await` of a plain value still costs a
	// promise and a tick, and Better Auth's async hooks make each dearer).
	const modelNow = (name: string) => ctx.known(schema.model(name));
	const modelOf = (name: string) => ctx.stored(schema.model(name), driver);

	const output = (
		model: ModelInfo,
		row: Row | undefined,
		joins?: ReturnType<typeof resolveJoins>,
	): Row | null | Promise<Row> => {
		if (!row) return null;
		applyRules(row, ctx.rulesOf(model).row);
		if (joins) {
			for (const join of joins.joins) {
				const nested = ctx.rulesOf(join.model).nested;
				const value = row[join.model.key];
				if (Array.isArray(value)) for (const item of value) applyRules(item, nested);
				else if (value) applyRules(value as Row, nested);
				else row[join.model.key] = join.oneToOne ? null : [];
			}
		}
		return model.hasOutputTransform ? applyOutputTransforms(model, row) : row;
	};

	/** The where clause of a call: its parameters, conditions and the shape key (`tag` names the operation). */
	const filter = (tag: string, model: ModelInfo, input: Where[] | undefined) => {
		const values: unknown[] = [];
		const where: Condition[] = [];
		const key = `${tag}\u0003${model.key}\u0003${normalizeWhere(model, schema.idKind, input, values, where)}`;
		return { values, where, key };
	};

	const selectFields = (model: ModelInfo, select: string[] | undefined, joins: ReturnType<typeof resolveJoins>) => {
		if (!select || select.length === 0) return model.fields;
		const fields = new Set(select.map((name) => model.field(name)));
		// Better Auth keeps the base side of each join in the result.
		for (const join of joins.joins) fields.add(join.from);
		return model.fields.filter((f) => fields.has(f));
	};

	const find = (
		op: "findOne" | "findMany",
		model: ModelInfo,
		args: {
			where?: Where[] | undefined;
			select?: string[] | undefined;
			join?: JoinOption | undefined;
			limit?: number | undefined;
			offset?: number | undefined;
			sortBy?: { field: string; direction: "asc" | "desc" } | undefined;
		},
	) => {
		const { values, where, key: whereKey } = filter("s", model, args.where);
		const joins = resolveJoins(schema, model, args.join);
		const fields = selectFields(model, args.select, joins);
		const sort = args.sortBy
			? { field: model.field(args.sortBy.field), desc: args.sortBy.direction === "desc" }
			: undefined;
		let limitSlot = LIMIT_ONE;
		let offsetSlot = -1;
		if (op === "findMany") {
			limitSlot = values.push(args.limit ?? schema.defaultLimit) - 1;
			if (args.offset !== undefined && args.offset !== null) offsetSlot = values.push(args.offset) - 1;
		}
		const key = `${whereKey}\u0003${fields.length === model.fields.length ? "*" : fields.map((f) => f.key).join(",")}\u0003${joins.key}\u0003${sort ? `${sort.field.key}${sort.desc ? "-" : "+"}` : ""}\u0003${limitSlot < 0 ? limitSlot : "n"}${offsetSlot < 0 ? "" : "o"}`;
		const stmt = cache.get(key, () =>
			buildSelect(ns, { model, where, fields, joins: joins.joins, sort, limitSlot, offsetSlot }),
		);
		return { stmt, values, joins };
	};

	const lockEmail = async (model: ModelInfo, email: string) => {
		try {
			await driver.query(EMAIL_LOCK, [`authpg:user.email:${ns}:${email}`], { name: EMAIL_LOCK_NAME });
		} catch (error) {
			throw toQueryError("findOne", model.key, error);
		}
	};

	const adapter: DBAdapter<BetterAuthOptions> = {
		id: "authpg",

		async create({ model: modelName, data, select, forceAllowId }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const input = data as Row;
			const inputs = model.fields.map((field) => ({
				field,
				value:
					field === model.id
						? ctx.newId(model, input.id, forceAllowId === true)
						: inputValue(field, input[field.key], "create"),
			}));
			const values: unknown[] = [];
			const assigned = assign(schema.idKind, inputs, values);
			const { fields, slots, key: fieldKey } = assigned instanceof Promise ? await assigned : assigned;
			let key = `c\u0003${model.key}\u0003${fieldKey}`;
			const returning = select?.length
				? model.fields.filter((f) => select.some((s) => model.field(s) === f))
				: model.fields;
			if (returning !== model.fields) key += `\u0003${returning.map((f) => f.key).join(",")}`;
			const stmt = cache.get(key, () => buildInsert(ns, model, fields, slots, returning));
			const { rows } = await run(driver, "create", model, stmt, values);
			return output(model, rows[0]) as never;
		},

		async findOne(args) {
			const model = modelNow(args.model) ?? (await modelOf(args.model));
			const { stmt, values, joins } = find("findOne", model, args);
			const email = inTransaction ? lockedEmail(model, args.where) : undefined;
			if (email !== undefined) await lockEmail(model, email);
			const { rows } = await run(driver, "findOne", model, stmt, values);
			return output(model, rows[0], joins) as never;
		},

		async findMany(args) {
			const model = modelNow(args.model) ?? (await modelOf(args.model));
			const { stmt, values, joins } = find("findMany", model, args);
			const { rows } = await run(driver, "findMany", model, stmt, values);
			const result = [];
			for (const row of rows) {
				const out = output(model, row, joins);
				result.push(out instanceof Promise ? await out : out);
			}
			return result as never;
		},

		async count({ model: modelName, where: whereInput }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const { values, where, key } = filter("n", model, whereInput);
			const stmt = cache.get(key, () => buildCount(ns, model, where));
			const { rows } = await run(driver, "count", model, stmt, values);
			return Number(rows[0]?.count ?? 0);
		},

		async update({ model: modelName, where: whereInput, update }) {
			// As Better Auth's factory: an update without a where touches nothing.
			if (!whereInput || whereInput.length === 0) return null;
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const { values, where, key: whereKey } = filter("u", model, whereInput);
			const assigned = updateColumns(schema.idKind, model, update as Row, values);
			const set = assigned instanceof Promise ? await assigned : assigned;
			if (set.fields.length === 0) return adapter.findOne({ model: modelName, where: whereInput });
			const key = `${whereKey}\u0003${set.key}`;
			const stmt = cache.get(key, () => buildUpdate(ns, model, set.fields, set.slots, where, true));
			const { rows } = await run(driver, "update", model, stmt, values);
			return output(model, rows[0]) as never;
		},

		async updateMany({ model: modelName, where: whereInput, update }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const { values, where, key: whereKey } = filter("U", model, whereInput);
			const assigned = updateColumns(schema.idKind, model, update as Row, values);
			const set = assigned instanceof Promise ? await assigned : assigned;
			if (set.fields.length === 0) {
				throw new InvalidValueError(`updateMany on "${model.key}" has no known field to set.`);
			}
			const key = `${whereKey}\u0003${set.key}`;
			const stmt = cache.get(key, () => buildUpdate(ns, model, set.fields, set.slots, where, false));
			return (await run(driver, "updateMany", model, stmt, values)).rowCount;
		},

		async delete({ model: modelName, where: whereInput }) {
			await adapter.deleteMany({ model: modelName, where: whereInput });
		},

		async deleteMany({ model: modelName, where: whereInput }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const { values, where, key } = filter("d", model, whereInput);
			const stmt = cache.get(key, () => buildDelete(ns, model, where));
			return (await run(driver, "deleteMany", model, stmt, values)).rowCount;
		},

		async consumeOne({ model: modelName, where: whereInput }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const { values, where, key } = filter("x", model, whereInput);
			const stmt = cache.get(key, () => buildConsumeOne(ns, model, where));
			const { rows } = await run(driver, "consumeOne", model, stmt, values);
			return output(model, rows[0]) as never;
		},

		async incrementOne({ model: modelName, where: whereInput, increment, set: setInput }) {
			const model = modelNow(modelName) ?? (await modelOf(modelName));
			const filtered = filter("i", model, whereInput);
			const { values, where } = filtered;
			const increments: FieldInfo[] = [];
			const incrementSlots: number[] = [];
			let key = `${filtered.key}\u0003`;
			for (const [name, delta] of Object.entries(increment ?? {})) {
				const field = model.field(name);
				if (typeof delta !== "number" || !Number.isFinite(delta)) {
					throw new InvalidValueError(`incrementOne on "${model.key}.${field.key}" needs a finite number delta.`);
				}
				increments.push(field);
				incrementSlots.push(values.push(delta) - 1);
				key += `${field.key},`;
			}
			const assigned = setInput
				? updateColumns(schema.idKind, model, setInput as Row, values)
				: { fields: [], slots: [], key: "" };
			const set = assigned instanceof Promise ? await assigned : assigned;
			if (increments.length === 0 && set.fields.length === 0) {
				throw new InvalidValueError(`incrementOne on "${model.key}" needs a non-empty \`increment\` or \`set\`.`);
			}
			key += `\u0003${set.key}`;
			const stmt = cache.get(key, () =>
				buildIncrementOne(ns, model, increments, incrementSlots, set.fields, set.slots, where),
			);
			const { rows } = await run(driver, "incrementOne", model, stmt, values);
			return output(model, rows[0]) as never;
		},

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
			authpg: { driver, schema: schema.namespace, usePlural: schema.usePlural },
		},
	};
	return adapter;
}
