/** The FIFO gate a single connection's users queue at. */

/** A FIFO async mutex: tasks run one at a time, in the order they were handed in. */
export interface Gate {
	/** Run `task` once every task handed in before it has settled; settles as `task` does. */
	run<T>(task: () => Promise<T>): Promise<T>;
}

/**
 * Create a {@link Gate}. Not reentrant: a task that awaits another task on the
 * same gate waits forever, so code running under a gate must use a different
 * path (for a transaction, its `tx`).
 */
export function createGate(): Gate {
	let tail: Promise<unknown> = Promise.resolve();
	return {
		run<T>(task: () => Promise<T>): Promise<T> {
			const result = tail.then(task);
			// The chain must survive a failed task; the caller still sees the failure through `result`.
			tail = result.then(ignore, ignore);
			return result;
		},
	};
}

function ignore(): void {}
