/**
 * The peers the packaging test installs: for each peer our packages declare, the highest (or
 * lowest) version the registry has that satisfies every range declared for it and whose `engines.node`
 * admits the Node.js running the test: what a user on that Node would keep (vitest 5 and Kysely 0.29
 * ask for Node 22; on Node 20 the test takes vitest 4 and Kysely 0.28, as such a user must). Resolved
 * at run time, so the test follows our ranges as they widen and the registry as it publishes.
 */
import { execFileSync } from "node:child_process";
import semver from "semver";

/**
 * @typedef {object} Peer
 * @property {string} name
 * @property {{ range: string; by: string[] }[]} ranges each declared range and the packages declaring it
 * @property {string} [version] the version chosen
 */

/**
 * Every required peer the packages declare (optional peers are left out, as npm leaves them),
 * except the packages themselves.
 *
 * @param {{ name: string; manifest: Record<string, any> }[]} packages
 * @returns {Peer[]}
 */
export function declaredPeers(packages) {
	const ours = new Set(packages.map((p) => p.name));
	/** @type {Map<string, Map<string, string[]>>} */
	const peers = new Map();
	for (const { name, manifest } of packages) {
		for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
			if (ours.has(peer) || manifest.peerDependenciesMeta?.[peer]?.optional) continue;
			const ranges = peers.get(peer) ?? new Map();
			ranges.set(range, [...(ranges.get(range) ?? []), name]);
			peers.set(peer, ranges);
		}
	}
	return [...peers]
		.map(([name, ranges]) => ({ name, ranges: [...ranges].map(([range, by]) => ({ range, by })) }))
		.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The versions the registry has for `name@range` that this Node.js may run (`npm view`, which
 * answers one item rather than an array for one version, and bare version strings when none of
 * them declares engines).
 */
function registryVersions(name, range) {
	const out = execFileSync("npm", ["view", `${name}@${range}`, "version", "engines", "--json"], {
		encoding: "utf8",
	}).trim();
	if (out === "") return [];
	const parsed = JSON.parse(out);
	return (Array.isArray(parsed) ? parsed : [parsed])
		.map((item) => (typeof item === "string" ? { version: item } : item))
		.filter(({ engines }) => !engines?.node || semver.satisfies(process.version, engines.node))
		.map(({ version }) => version);
}

/**
 * Choose a version of each peer that satisfies all its declared ranges.
 *
 * @param {Peer[]} peers
 * @param {"highest" | "lowest"} pick
 * @returns {Required<Peer>[]}
 */
export function resolvePeers(peers, pick) {
	return peers.map((peer) => {
		let candidates;
		for (const { range } of peer.ranges) {
			const versions = registryVersions(peer.name, range);
			candidates = candidates ? candidates.filter((v) => versions.includes(v)) : versions;
		}
		// `npm view` lists versions in publication order, not semver order.
		const sorted = semver.sort([...(candidates ?? [])]);
		const version = pick === "highest" ? sorted.at(-1) : sorted[0];
		if (!version) {
			const ranges = peer.ranges.map((r) => `${r.range} (${r.by.join(", ")})`).join(" and ");
			throw new Error(`No published version of ${peer.name} satisfies ${ranges}.`);
		}
		return { ...peer, version };
	});
}
