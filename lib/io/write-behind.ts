/**
 * Writes a loop need not wait for (log lines, sample images, a report),
 * run one after another in the order queued while the loop goes on. The
 * first failure is kept: the writes queued after it are skipped, and it is
 * thrown by the next `check()` or `drain()`, so the caller reports it
 * where it would have reported a write it awaited, one step later.
 */
export interface WriteBehind {
  /** Queue `write` to start once every write queued before it has finished. */
  push(write: () => Promise<void>): void;
  /** Throw the first failure, if a queued write has failed (it is then forgotten). */
  check(): void;
  /**
   * One turn of the event loop while writes are queued, at once when none
   * are: a loop whose awaits all resolve at once (a step, a batch already
   * there) never lets file-system callbacks run, so the writes behind it
   * would wait for its end. With more than `maxQueued` queued it waits for
   * all of them (never throwing: `check` reports a failure), so a loop that
   * queues faster than they finish (a sample every step) is held back
   * instead of piling up what they would write.
   */
  turn(): Promise<void>;
  /** Wait for every queued write; throw the first failure, as `check`. */
  drain(): Promise<void>;
}

export const writeBehind = ({ maxQueued = 8 }: { readonly maxQueued?: number } = {}): WriteBehind => {
  let tail: Promise<void> = Promise.resolve();
  let queued = 0;
  let failed: { readonly error: unknown } | undefined;
  const check = (): void => {
    if (failed === undefined) return;
    const { error } = failed;
    failed = undefined;
    throw error;
  };
  return {
    push: (write) => {
      queued++;
      tail = tail
        .then(() => (failed === undefined ? write() : undefined))
        .catch((error: unknown) => void (failed ??= { error }))
        .finally(() => void queued--);
    },
    check,
    turn: () => (queued === 0 ? Promise.resolve() : queued > maxQueued ? tail : new Promise<void>((resolve) => setImmediate(resolve))),
    drain: async () => {
      await tail;
      check();
    },
  };
};
