/** Keys of the two reference subjects every ratio is taken against. */
export const FLOOR = "floor";
export const BETTER_AUTH = "better-auth";
/** The raw postgres.js floor, which `@authpg/postgres-js` is measured against (as the pg-based packages are against `floor`). */
export const FLOOR_POSTGRES_JS = "floor-postgres-js";
/** Better Auth's built-in path with its joins on (`experimental: { joins: true }`): Better Auth at its best. */
export const BETTER_AUTH_JOINS = "better-auth-joins";
/** The `@authpg/neon` subjects and the `@authpg/pglite` one (on a database of its own). */
export const NEON_WS = "neon-ws";
export const NEON_HTTP = "neon-http";
export const PGLITE = "pglite";
/** `@authpg/pool` with one streaming replica of the bench database: run only when named in `--subjects`. */
export const POOL_REPLICA = "pool-replica";
/** `@authpg/pool` with the auth event log on: the same as `pool` but for `events: true`. */
export const POOL_EVENTS = "pool-events";
/** `@authpg/pool` with sealed fields (`seal: true`): run only when named in `--subjects` (or by `--seal`). */
export const POOL_SEALED = "pool-sealed";
