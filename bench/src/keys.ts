/** Keys of the two reference subjects every ratio is taken against. */
export const FLOOR = "floor";
export const BETTER_AUTH = "better-auth";
/** The `@authpg/neon` subjects and the `@authpg/pglite` one (on a database of its own). */
export const NEON_WS = "neon-ws";
export const NEON_HTTP = "neon-http";
export const PGLITE = "pglite";
