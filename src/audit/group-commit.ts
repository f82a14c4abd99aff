/** Called once its items are durable (no argument) or could not be written (the error). */
export type DurableCallback = (err?: Error) => void;

/**
 * Group commit: everything added during one event-loop turn goes to ONE write, started on
 * setImmediate; while a write is in flight, later additions gather for the next one. Writes never
 * overlap, so batches land in the order they were added.
 *
 * A failed batch fails everything queued behind it too: later items were built on top of it (the
 * hash chain), so writing them would store a chain with a hole.
 */
export class GroupCommit<T> {
  readonly #write: (batch: T[]) => Promise<void>;
  readonly #settled: (batch: T[], err?: Error) => void;
  #items: T[] = [];
  #callbacks: DurableCallback[] = [];
  #scheduled = false;
  #writing = false;

  /**
   * @param write stores one batch
   * @param settled runs after each write, before that batch's callbacks, with every item that
   *   failed when it failed (so the owner can fix its state before callbacks submit again)
   */
  constructor(write: (batch: T[]) => Promise<void>, settled: (batch: T[], err?: Error) => void) {
    this.#write = write;
    this.#settled = settled;
  }

  get idle(): boolean {
    return !this.#writing && this.#callbacks.length === 0;
  }

  add(items: readonly T[], onDurable: DurableCallback): void {
    for (const item of items) this.#items.push(item);
    this.#callbacks.push(onDurable);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    setImmediate(this.#run);
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    if (this.#writing || this.#callbacks.length === 0) return;
    const batch = this.#items;
    const callbacks = this.#callbacks;
    this.#items = [];
    this.#callbacks = [];
    if (batch.length === 0) {
      // Only waiters (e.g. flush): nothing to write.
      this.#finish(batch, callbacks);
      return;
    }
    this.#writing = true;
    let written: Promise<void>;
    try {
      written = this.#write(batch);
    } catch (err) {
      written = Promise.reject(err as Error);
    }
    written.then(
      () => this.#finish(batch, callbacks),
      (err: unknown) => this.#finish(batch, callbacks, err instanceof Error ? err : new Error(String(err))),
    );
  };

  #finish(batch: T[], callbacks: DurableCallback[], err?: Error): void {
    this.#writing = false;
    if (err !== undefined && this.#callbacks.length > 0) {
      for (const item of this.#items) batch.push(item);
      for (const cb of this.#callbacks) callbacks.push(cb);
      this.#items = [];
      this.#callbacks = [];
    }
    this.#settled(batch, err);
    // Every callback runs even if one throws; the first throw is re-raised afterwards, outside
    // this bookkeeping, because a throwing callback is a bug the process must not swallow.
    let thrown: { error: unknown } | undefined;
    for (const cb of callbacks) {
      try {
        cb(err);
      } catch (e) {
        thrown ??= { error: e };
      }
    }
    if (this.#callbacks.length > 0) this.#schedule();
    if (thrown !== undefined) {
      const { error } = thrown;
      process.nextTick(() => {
        throw error;
      });
    }
  }
}
