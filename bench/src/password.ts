/**
 * The benchmark's password hashing: SHA-256, not Better Auth's scrypt. scrypt
 * is deliberately slow (tens of milliseconds of CPU per sign-in), so with it a
 * sign-in measures the hash and nothing else; with a fast hash it measures what
 * differs between subjects: the statements a sign-in sends and their cost.
 * Every subject gets the same hashing. Never for production.
 */
import { createHash } from "node:crypto";

/** The password of every seeded user. */
export const BENCH_PASSWORD = "authpg-bench-password";

const sha256 = (password: string) => `sha256:${createHash("sha256").update(password).digest("hex")}`;

/** The stored hash of {@link BENCH_PASSWORD}, as the seed writes it into every credential account. */
export const BENCH_PASSWORD_HASH = sha256(BENCH_PASSWORD);

/** Better Auth's `emailAndPassword.password` for the benchmark. */
export const benchPasswordHashing = {
	hash: async (password: string) => sha256(password),
	verify: async ({ hash, password }: { hash: string; password: string }) => hash === sha256(password),
};
