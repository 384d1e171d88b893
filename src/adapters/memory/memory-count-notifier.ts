import type { CountListener, CountNotifier, CountSubscription } from '../../ports/count-notifier.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';

/** The embedded count notifier: publish calls the listeners of this process synchronously. */
export class MemoryCountNotifier implements CountNotifier {
  readonly #listeners = new Set<CountListener>();

  async init(): Promise<void> {}

  async close(): Promise<void> {
    this.#listeners.clear();
  }

  async publish(counts: readonly VersionedCount[]): Promise<void> {
    this.notify(counts);
  }

  /** `publish` without the promise, for callers on a hot path. */
  notify(counts: readonly VersionedCount[]): void {
    if (counts.length === 0) return;
    for (const listener of this.#listeners) listener.changed(counts);
  }

  subscribe(listener: CountListener): CountSubscription {
    this.#listeners.add(listener);
    return { close: () => this.#listeners.delete(listener) };
  }
}
