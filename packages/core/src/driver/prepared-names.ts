/** The prepared statement names a connection holds, bounded. */

/**
 * Default bound on prepared statements per connection. Postgres keeps a plan
 * per statement per session; a few hundred covers every statement shape the
 * core compiles for a typical Better Auth setup.
 */
export const DEFAULT_MAX_PREPARED_STATEMENTS = 256;

/**
 * A bounded, least-recently-used set of the statement names prepared on one
 * connection. Postgres keeps every named statement for the life of the
 * session, so without a bound a long-lived connection grows without limit.
 */
export class PreparedStatementNames {
	readonly #names = new Map<string, true>();

	/** @param max Most names kept prepared at once; at least 1. */
	constructor(readonly max: number) {
		if (!Number.isInteger(max) || max < 1) {
			throw new RangeError(`maxPreparedStatements must be a positive integer, got ${max}`);
		}
	}

	/** How many names are currently tracked. */
	get size(): number {
		return this.#names.size;
	}

	/** Whether `name` is currently tracked as prepared. */
	has(name: string): boolean {
		return this.#names.has(name);
	}

	/**
	 * Mark `name` most recently used if it is tracked, synchronously; the hot
	 * path, where {@link admit} would cost a promise.
	 *
	 * @returns whether `name` was tracked (and so may be sent with its name).
	 */
	touch(name: string): boolean {
		if (!this.#names.delete(name)) return false;
		this.#names.set(name, true);
		return true;
	}

	/**
	 * Call on the connection, under its gate, before sending a statement named
	 * `name`. Marks it most recently used; when it is new and the set is full,
	 * first calls `deallocate` for the least recently used name.
	 *
	 * @returns `true` when the statement may be sent with its name; `false`
	 * when making room failed (e.g. inside an aborted transaction), in which
	 * case it should be sent unnamed.
	 */
	async admit(name: string, deallocate: (victim: string) => Promise<void>): Promise<boolean> {
		if (this.touch(name)) return true;
		if (this.#names.size >= this.max) {
			const victim = this.#names.keys().next().value as string;
			try {
				await deallocate(victim);
			} catch {
				return false;
			}
			this.#names.delete(victim);
		}
		this.#names.set(name, true);
		return true;
	}

	/** Stop tracking `name` (e.g. its statement no longer exists on the server). */
	delete(name: string): void {
		this.#names.delete(name);
	}

	/** Stop tracking every name (e.g. the session was reset). */
	clear(): void {
		this.#names.clear();
	}
}
