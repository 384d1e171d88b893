/**
 * The last records written in this process, by key, so that a reader in the same process takes
 * them as objects instead of decoding what was just encoded. Bounded: the oldest are dropped, and
 * a miss simply decodes the stored record. Capacity 0 keeps nothing.
 */
export class RecentRecords<T> {
  readonly #entries = new Map<string, T>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  set(key: string, value: T): void {
    if (this.#capacity === 0) return;
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  /** Returns and forgets the record: each is read once by the stage that consumes it. */
  take(key: string): T | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) this.#entries.delete(key);
    return value;
  }
}
