/**
 * The rows a statement returns, as Better Auth expects them: each field
 * converted by its output rule, joined rows nested, sealed fields opened.
 */
import type { ModelInfo } from "../model.js";
import type { AdapterContext } from "./context.js";
import { nestFlatJoins, type ResolvedJoins } from "./join.js";
import { applyOutputTransforms, applyRules } from "./output.js";
import type { FieldSealer, Known } from "./sealed-fields.js";

type Row = Record<string, unknown>;

/** The rows a statement returns, converted as Better Auth expects them (joined rows included). */
export function outputRow(
	ctx: AdapterContext,
	model: ModelInfo,
	row: Row | undefined,
	joins?: ResolvedJoins,
	known?: Known,
): Row | null | Promise<Row> {
	if (!row) return null;
	if (joins) row = nestFlatJoins(row, joins);
	if (ctx.sealer && (ctx.sealedOf(model) || joins?.joins.some((j) => ctx.sealedOf(j.model)))) {
		return openRow(ctx, ctx.sealer, model, row, joins, known);
	}
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
}

/** {@link outputRow} for a row (or joined rows) with sealed fields: converted, then opened. */
async function openRow(
	ctx: AdapterContext,
	sealer: FieldSealer,
	model: ModelInfo,
	row: Row,
	joins: ResolvedJoins | undefined,
	known: Known | undefined,
): Promise<Row> {
	applyRules(row, ctx.rulesOf(model).row);
	const sm = ctx.sealedOf(model);
	if (sm) await sealer.output(sm, row, known);
	for (const join of joins?.joins ?? []) {
		const nested = ctx.rulesOf(join.model).nested;
		const joined = ctx.sealedOf(join.model);
		const value = row[join.model.key];
		const items = Array.isArray(value) ? (value as Row[]) : value ? [value as Row] : [];
		if (!value) row[join.model.key] = join.oneToOne ? null : [];
		for (const item of items) {
			applyRules(item, nested);
			if (joined) await sealer.output(joined, item, undefined);
		}
	}
	return model.hasOutputTransform ? applyOutputTransforms(model, row) : row;
}
