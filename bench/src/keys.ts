/** Keys of the two reference subjects every ratio is taken against. */
export const FLOOR = "floor";
export const BETTER_AUTH = "better-auth";
