// A first rough figure (the full benchmark is its own issue): findOne session by token and
// session + user through @authpg/pool beside Better Auth's own Postgres path (`database: new Pool()`,
// its Kysely adapter, default options), same process, same server, 8 concurrent callers, rounds
// interleaved, median of 5. Needs AUTHPG_BENCH_DATABASE_URL (a database it may fill).
import { createStores } from "@authpg/pool";
import { betterAuth } from "better-auth";
import pg from "pg";

const url = process.env.AUTHPG_BENCH_DATABASE_URL;
if (!url) throw new Error("Set AUTHPG_BENCH_DATABASE_URL to a Postgres database the benchmark may fill.");
const CONCURRENCY = 8;
const SECONDS = Number(process.env.AUTHPG_BENCH_SECONDS ?? 2);
const ROUNDS = 5;
const USERS = 2000;

const options = {
	emailAndPassword: { enabled: true },
	baseURL: "http://localhost:3000",
	secret: "authpg-rough-benchmark-secret-0123456789",
};
const stores = createStores({ connectionString: url, pool: { max: 10 } });
await stores.driver.query("drop schema if exists public cascade", []);
await stores.driver.query("create schema public", []);
await stores.migrate(options);
const ours = stores.adapter(options);

const basePool = new pg.Pool({ connectionString: url, max: 10 });
const theirs = (await betterAuth({ ...options, database: basePool }).$context).adapter;

const tokens = [];
for (let i = 0; i < USERS; i++) {
	const user = await ours.create({
		model: "user",
		data: {
			name: `u${i}`,
			email: `u${i}@example.com`,
			emailVerified: true,
			createdAt: new Date(),
			updatedAt: new Date(),
		},
	});
	const token = `token-${i}-${Math.random().toString(36).slice(2)}`;
	await ours.create({
		model: "session",
		data: {
			userId: user.id,
			token,
			expiresAt: new Date(Date.now() + 3600_000),
			createdAt: new Date(),
			updatedAt: new Date(),
		},
	});
	tokens.push(token);
}

const ops = {
	"findOne session by token": (a, t) => a.findOne({ model: "session", where: [{ field: "token", value: t }] }),
	"findOne session + user": (a, t) =>
		a.findOne({ model: "session", where: [{ field: "token", value: t }], join: { user: true } }),
};
const subjects = { "@authpg/pool": ours, "better-auth (new Pool())": theirs };

async function measure(adapter, op) {
	let done = 0;
	const until = performance.now() + SECONDS * 1000;
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async (_, w) => {
			let i = w;
			while (performance.now() < until) {
				i += CONCURRENCY;
				const result = await op(adapter, tokens[i % tokens.length]);
				if (!result) throw new Error("lookup returned nothing");
				done++;
			}
		}),
	);
	return done / SECONDS;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [opName, op] of Object.entries(ops)) {
	for (const adapter of Object.values(subjects)) await measure(adapter, op); // warm-up, discarded
	const samples = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
	for (let r = 0; r < ROUNDS; r++) {
		for (const [name, adapter] of Object.entries(subjects)) samples[name].push(await measure(adapter, op));
		process.stderr.write(`\r${opName}: round ${r + 1}/${ROUNDS}`);
	}
	process.stderr.write("\n");
	const ourMedian = median(samples["@authpg/pool"]);
	const theirMedian = median(samples["better-auth (new Pool())"]);
	console.log(
		`${opName}: @authpg/pool ${ourMedian.toFixed(0)} ops/s, better-auth ${theirMedian.toFixed(0)} ops/s, ratio ${(ourMedian / theirMedian).toFixed(2)}x`,
	);
}
await stores.close();
await basePool.end();
