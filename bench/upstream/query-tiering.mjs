/**
 * Reproduction for an upstream report (postgres.js × V8; see bench/README.md, "Where
 * @authpg/postgres-js loses to its floor"): V8's optimizing compiler gives up on a derived class
 * whose body declares a computed static accessor, as postgres.js's `Query extends Promise` does
 * with `static get [Symbol.species]()`, every time it tries ("Bailed out due to dependency change"
 * under `--trace-opt`). The same class with the accessor defined by `Object.defineProperty` after
 * its body compiles. No database: postgres.js connects on a query's first `then`, which never comes.
 *
 *   node --allow-natives-syntax bench/upstream/query-tiering.mjs   (from the repository root)
 */
import postgres from "postgres";

let natives;
try {
	natives = {
		prepare: new Function("f", "%PrepareFunctionForOptimization(f)"),
		optimizeNext: new Function("f", "%OptimizeFunctionOnNextCall(f)"),
		// Bit 16 of %GetOptimizationStatus: the function runs optimized code.
		optimized: new Function("f", "return (%GetOptimizationStatus(f) & 16) !== 0"),
	};
} catch {
	console.error("run with: node --allow-natives-syntax bench/upstream/query-tiering.mjs");
	process.exit(2);
}

/** Whether V8 optimizes `fn` after warming it up with `run`, a call that reaches it. */
function optimizes(fn, run) {
	natives.prepare(fn);
	for (let i = 0; i < 20; i++) run();
	natives.optimizeNext(fn);
	run();
	return natives.optimized(fn);
}

class ComputedSpecies extends Promise {
	constructor() {
		let settle;
		super((resolve) => {
			settle = resolve;
		});
		this.settle = settle;
	}
	static get [Symbol.species]() {
		return Promise;
	}
}

class DefinedSpecies extends Promise {
	constructor() {
		let settle;
		super((resolve) => {
			settle = resolve;
		});
		this.settle = settle;
	}
}
Object.defineProperty(DefinedSpecies, Symbol.species, { get: () => Promise, configurable: true });

const sql = postgres({ max: 1, fetch_types: false });
const strings = Object.freeze(Object.assign(["select ", ""], { raw: Object.freeze(["select ", ""]) }));
const Query = Object.getPrototypeOf(sql(strings, 1)).constructor;

const rows = [
	["class with `static get [Symbol.species]()`", ComputedSpecies, () => new ComputedSpecies()],
	["class with Symbol.species defined after its body", DefinedSpecies, () => new DefinedSpecies()],
	["postgres.js's Query (`sql(strings, value)`)", Query, () => sql(strings, 1)],
];
console.log(`Node ${process.version}, V8 ${process.versions.v8}`);
console.log("| class | optimized |");
console.log("| --- | --- |");
for (const [label, cls, make] of rows) console.log(`| ${label} | ${optimizes(cls, make) ? "yes" : "no"} |`);
await sql.end();
