/**
 * Sealed and hashed fields in the adapter, decided once per model like every
 * other conversion: a sealed field's input step encrypts (AES-256-GCM, bound
 * to model, field and row id), its output step decrypts, and its where step
 * refuses anything but null checks; a hashed field's input and where steps
 * replace the value with its keyed hash, so equality lookups still work and
 * the stored value is useless to whoever reads it.
 *
 * A model with nothing sealed costs one map lookup per call and no promise.
 */

import type { BetterAuthOptions } from "@better-auth/core";
import type { Where } from "@better-auth/core/db/adapter";
import { InvalidValueError, SealedFieldConfigError, SealedFieldError, SealedFieldQueryError } from "../errors.js";
import type { FieldKeyring, FieldKeySource } from "../keystore/field-keys.js";
import { fieldAad, hashField, isSealed, openField, SEALED_PREFIX, sealedKeyId, sealField } from "../keystore/seal.js";
import { type CompiledSchema, compileSchema, type FieldInfo, type ModelInfo, type SchemaOptions } from "../model.js";

type Row = Record<string, unknown>;

/**
 * The fields sealed when `seal: true`: every OAuth token Better Auth stores,
 * and the value of every verification row (reset-password user ids, OTPs,
 * magic-link payloads, OAuth state with its PKCE verifier).
 */
export const DEFAULT_SEALED_FIELDS: readonly string[] = [
	"account.accessToken",
	"account.refreshToken",
	"account.idToken",
	"verification.value",
];

/**
 * The fields hashed when `seal: true`: verification identifiers whose kind
 * carries a bearer token (the token is the lookup key, so the clear row is a
 * usable credential). Identifiers of other kinds (an email or phone number
 * for OTPs, a SIWE nonce, a user id lock) stay clear. See
 * docs/secrets-at-rest.md for each kind.
 */
export const DEFAULT_HASHED_FIELDS: Readonly<Record<string, true | readonly string[]>> = {
	"verification.identifier": [
		"reset-password:",
		"delete-account-",
		"magic-link:",
		"one-time-token:",
		"auth-state:",
		"2fa-",
		"trust-device-",
	],
};

/** What `seal` in `createStores` takes besides `true`. */
export interface SealOptions {
	/**
	 * Fields sealed with AES-256-GCM, as `"model.field"` (Better Auth's model
	 * and field keys; plugin and additional fields included). Replaces the
	 * defaults: `[...DEFAULT_SEALED_FIELDS, "user.taxId"]` adds one.
	 * Default {@link DEFAULT_SEALED_FIELDS}.
	 */
	fields?: readonly string[];
	/**
	 * Fields stored as keyed hashes (HMAC-SHA-256), looked up by equality only:
	 * `"model.field"` → `true` (every value) or a list of prefixes (only values
	 * starting with one; the others stay clear). Replaces the defaults.
	 * Default {@link DEFAULT_HASHED_FIELDS}.
	 */
	hash?: Readonly<Record<string, true | readonly string[]>>;
}

/** The resolved configuration: per model key, the sealed fields and the hashed ones. */
export interface SealConfig {
	readonly sealed: ReadonlyMap<string, ReadonlySet<string>>;
	readonly hashed: ReadonlyMap<string, ReadonlyMap<string, true | readonly string[]>>;
}

function splitName(name: string): [string, string] {
	const dot = typeof name === "string" ? name.indexOf(".") : -1;
	if (dot <= 0 || dot === name.length - 1) {
		throw new SealedFieldConfigError(`A sealed or hashed field is named "model.field"; "${String(name)}" is not.`);
	}
	return [name.slice(0, dot), name.slice(dot + 1)];
}

/** Resolve `seal` (`true` or {@link SealOptions}) into per-model sets; undefined when off. */
export function sealConfig(option: boolean | SealOptions | undefined): SealConfig | undefined {
	if (!option) return undefined;
	const given = option === true ? {} : option;
	const sealed = new Map<string, Set<string>>();
	const hashed = new Map<string, Map<string, true | readonly string[]>>();
	for (const name of given.fields ?? DEFAULT_SEALED_FIELDS) {
		const [model, field] = splitName(name);
		if (!sealed.has(model)) sealed.set(model, new Set());
		sealed.get(model)!.add(field);
	}
	for (const [name, rule] of Object.entries(given.hash ?? DEFAULT_HASHED_FIELDS)) {
		const [model, field] = splitName(name);
		if (sealed.get(model)?.has(field)) {
			throw new SealedFieldConfigError(`"${name}" is both sealed and hashed; choose one.`);
		}
		if (rule !== true && !(Array.isArray(rule) && rule.every((p) => typeof p === "string" && p.length > 0))) {
			throw new SealedFieldConfigError(`The hash rule of "${name}" must be true or a list of non-empty prefixes.`);
		}
		if (!hashed.has(model)) hashed.set(model, new Map());
		hashed.get(model)!.set(field, rule);
	}
	return { sealed, hashed };
}

/** One model's sealed and hashed fields, resolved against the compiled schema. */
export interface SealedModel {
	readonly model: ModelInfo;
	readonly sealed: readonly FieldInfo[];
	readonly hashed: readonly { readonly field: FieldInfo; readonly prefixes: readonly string[] | undefined }[];
	readonly sealedKeys: ReadonlySet<string>;
	readonly hashedKeys: ReadonlySet<string>;
}

/**
 * Clear values this call already knows, by what is stored for them: the
 * operands of equality lookups on hashed fields, and the values it sealed.
 * The output step hands these back instead of a hash or a second decryption.
 */
export type Known = Map<string, string>;

function checkField(model: ModelInfo, key: string, what: string): FieldInfo {
	let field: FieldInfo;
	try {
		field = model.field(key);
	} catch {
		throw new SealedFieldConfigError(`"${model.key}.${key}" is ${what}, but model "${model.key}" has no such field.`);
	}
	if (field.isId || field.kind !== "string" || field.attr.references) {
		throw new SealedFieldConfigError(
			`"${model.key}.${key}" is ${what}, but only string fields that are neither an id nor a reference can be.`,
		);
	}
	return field;
}

/** The sealed and hashed fields of `model` under `config`; null when it has none. */
export function resolveSealedModel(config: SealConfig, model: ModelInfo, schema: CompiledSchema): SealedModel | null {
	const table = schema.tables[model.key];
	// Configured by model key or by a custom modelName.
	const names = [model.key, table?.modelName].filter((n): n is string => typeof n === "string");
	const sealedNames = new Set<string>();
	const hashedRules = new Map<string, true | readonly string[]>();
	for (const name of names) {
		for (const f of config.sealed.get(name) ?? []) sealedNames.add(f);
		for (const [f, rule] of config.hashed.get(name) ?? []) hashedRules.set(f, rule);
	}
	if (sealedNames.size === 0 && hashedRules.size === 0) return null;
	const sealed = [...sealedNames].map((k) => checkField(model, k, "sealed"));
	const hashed = [...hashedRules].map(([k, rule]) => ({
		field: checkField(model, k, "hashed"),
		prefixes: rule === true ? undefined : rule,
	}));
	return {
		model,
		sealed,
		hashed,
		sealedKeys: new Set(sealed.map((f) => f.key)),
		hashedKeys: new Set(hashed.map((h) => h.field.key)),
	};
}

/** One column a `seal` option covers, for tooling (`authpg doctor`). */
export interface SealedColumn {
	/** `"model.field"`. */
	readonly field: string;
	readonly table: string;
	readonly column: string;
	readonly kind: "sealed" | "hashed";
	/** Hashed only: the prefixes of the values it hashes; undefined for every value. */
	readonly prefixes?: readonly string[] | undefined;
}

/**
 * The columns `seal` covers for Better Auth `options` (what doctor checks for
 * clear values). Throws {@link SealedFieldConfigError} on a bad option.
 */
export function sealedColumns(
	options: BetterAuthOptions,
	seal: boolean | SealOptions,
	schemaOptions: SchemaOptions = {},
): SealedColumn[] {
	const config = sealConfig(seal);
	if (!config) return [];
	const schema = compileSchema(options, schemaOptions);
	const columns: SealedColumn[] = [];
	for (const model of schema.models) {
		const sm = resolveSealedModel(config, model, schema);
		if (!sm) continue;
		for (const f of sm.sealed)
			columns.push({ field: `${model.key}.${f.key}`, table: model.table, column: f.column, kind: "sealed" });
		for (const h of sm.hashed)
			columns.push({
				field: `${model.key}.${h.field.key}`,
				table: model.table,
				column: h.field.column,
				kind: "hashed",
				prefixes: h.prefixes,
			});
	}
	return columns;
}

/**
 * The per-process sealing state of one stores object: its configuration,
 * resolved once per compiled model, and its field keys.
 */
export class FieldSealer {
	private readonly models = new WeakMap<ModelInfo, SealedModel | null>();
	private lastReload = 0;

	/**
	 * @param config the resolved configuration.
	 * @param keys the field keys.
	 * @param option the `seal` option as given, which the adapter hands to tooling (`authpg keystore seal`, doctor).
	 */
	constructor(
		readonly config: SealConfig,
		private readonly keys: FieldKeySource,
		readonly option: boolean | SealOptions = true,
	) {}

	/** The sealed view of `model`, or undefined when nothing of it is sealed or hashed. */
	of(model: ModelInfo, schema: CompiledSchema): SealedModel | undefined {
		let found = this.models.get(model);
		if (found === undefined) {
			found = resolveSealedModel(this.config, model, schema);
			this.models.set(model, found);
		}
		return found ?? undefined;
	}

	/** The keyring (loaded on first use: the vault's password is checked then). */
	keyring(): Promise<FieldKeyring> {
		return this.keys.get();
	}

	private async keyFor(id: string): Promise<FieldKeyring["current"]["key"] | undefined> {
		const ring = await this.keys.get();
		const key = ring.keys.get(id);
		if (key) return key;
		// A key this process has not seen: another process rotated. Re-read at most once a second,
		// so a row with a made-up key id cannot make every read a key-table query.
		if (Date.now() - this.lastReload < 1000) return undefined;
		this.lastReload = Date.now();
		return (await this.keys.reload()).keys.get(id);
	}

	/** Seal `value` for `model.field` in row `rowId` under the current key. */
	async seal(sm: SealedModel, field: FieldInfo, rowId: string, value: string): Promise<string> {
		const { current } = await this.keys.get();
		return sealField(current.key, current.id, value, fieldAad(sm.model.key, field.key, rowId));
	}

	/** Open a stored value of a sealed field; a value in the clear (not yet sealed) is returned as it is. */
	async open(sm: SealedModel, field: FieldInfo, rowId: string, stored: unknown): Promise<unknown> {
		if (!isSealed(stored)) return stored;
		const keyId = sealedKeyId(stored);
		const key = keyId === undefined ? undefined : await this.keyFor(keyId);
		const clear = key ? await openField(key, stored, fieldAad(sm.model.key, field.key, rowId)) : undefined;
		if (clear === undefined) throw new SealedFieldError(sm.model.key, field.key, rowId);
		return clear;
	}

	/** The keyed hash of `value` for a hashed field, or `value` itself when its rule leaves it clear. */
	async hash(sm: SealedModel, field: FieldInfo, value: unknown): Promise<unknown> {
		if (typeof value !== "string") return value;
		const rule = sm.hashed.find((h) => h.field === field);
		if (rule?.prefixes && !rule.prefixes.some((p) => value.startsWith(p))) return value;
		const { hash } = await this.keys.get();
		return hashField(hash, sm.model.key, field.key, value);
	}

	/**
	 * A where clause with hashed operands: equality (`eq`, `ne`, `in`,
	 * `not_in`) on a hashed field compares hashes; a sealed field allows only
	 * `eq`/`ne` null. Anything else throws {@link SealedFieldQueryError}.
	 * Equality operands are remembered in `known`.
	 */
	async where(sm: SealedModel, where: readonly Where[] | undefined, known: Known): Promise<Where[] | undefined> {
		if (!where || where.length === 0) return where as Where[] | undefined;
		const out: Where[] = [];
		for (const w of where) {
			const field = sm.model.field(w.field);
			const operator = w.operator ?? "eq";
			if (sm.sealedKeys.has(field.key)) {
				if (w.value === null && (operator === "eq" || operator === "ne")) {
					out.push(w);
					continue;
				}
				throw new SealedFieldQueryError(sm.model.key, field.key, "sealed (encrypted)");
			}
			if (!sm.hashedKeys.has(field.key)) {
				out.push(w);
				continue;
			}
			const equality = operator === "eq" || operator === "ne" || operator === "in" || operator === "not_in";
			if (!equality || w.mode === "insensitive") {
				throw new SealedFieldQueryError(
					sm.model.key,
					field.key,
					"as a keyed hash, which matches by exact equality only",
				);
			}
			const one = async (v: unknown) => {
				const hashed = await this.hash(sm, field, v);
				if (typeof hashed === "string" && hashed !== v) known.set(hashed, v as string);
				return hashed;
			};
			const value = Array.isArray(w.value) ? await Promise.all(w.value.map(one)) : await one(w.value);
			out.push({ ...w, value } as Where);
		}
		return out;
	}

	/** Refuse a sort on a sealed or hashed field. */
	checkSort(sm: SealedModel, fieldName: string): void {
		const field = sm.model.field(fieldName);
		if (sm.sealedKeys.has(field.key) || sm.hashedKeys.has(field.key)) {
			throw new SealedFieldQueryError(sm.model.key, field.key, "sealed or hashed");
		}
	}

	/** Whether writing `data` seals a value, which needs the row's id. */
	needsRowId(sm: SealedModel, data: Row): boolean {
		return sm.sealed.some((f) => data[f.key] !== undefined && data[f.key] !== null);
	}

	/**
	 * Seal and hash the input values of one row (after Better Auth's defaults
	 * and transforms), remembering each clear value in `known`.
	 */
	async inputs(
		sm: SealedModel,
		inputs: { field: FieldInfo; value: unknown }[],
		rowId: string | undefined,
		known: Known,
	): Promise<{ field: FieldInfo; value: unknown }[]> {
		return Promise.all(
			inputs.map(async ({ field, value: given }) => {
				const value = given instanceof Promise ? await given : given;
				if (value === undefined || value === null) return { field, value };
				const sealed = sm.sealedKeys.has(field.key);
				if (!sealed && !sm.hashedKeys.has(field.key)) return { field, value };
				if (typeof value !== "string") {
					throw new InvalidValueError(`"${sm.model.key}.${field.key}" is sealed or hashed and needs a string value.`);
				}
				if (value.startsWith(SEALED_PREFIX)) {
					// A stored ciphertext written back (a row read raw and copied) would be sealed twice.
					throw new InvalidValueError(`"${sm.model.key}.${field.key}" was given a value in the sealed format.`);
				}
				let stored: unknown;
				if (sealed) {
					if (rowId === undefined) {
						throw new SealedFieldConfigError(
							`"${sm.model.key}.${field.key}" is sealed, which binds each value to its row id, but this row's id is generated by Postgres (generateId "serial" or false). Sealing needs string or uuid ids.`,
						);
					}
					stored = await this.seal(sm, field, rowId, value);
				} else {
					stored = await this.hash(sm, field, value);
				}
				if (typeof stored === "string" && stored !== value) known.set(stored, value);
				return { field, value: stored };
			}),
		);
	}

	/** Open the sealed fields of a row in place, and hand back the clear values `known` holds. */
	async output(sm: SealedModel, row: Row, known: Known | undefined): Promise<void> {
		const id = String(row[sm.model.id.key]);
		// WebCrypto decrypts off the main thread: a row's fields open side by side, not one after another.
		await Promise.all(
			sm.sealed.map(async (field) => {
				const stored = row[field.key];
				if (stored === undefined || stored === null) return;
				row[field.key] = known?.get(stored as string) ?? (await this.open(sm, field, id, stored));
			}),
		);
		if (known && known.size > 0) {
			for (const { field } of sm.hashed) {
				const clear = known.get(row[field.key] as string);
				if (clear !== undefined) row[field.key] = clear;
			}
		}
	}
}
