import type { Lifecycle } from '../../src/ports/lifecycle.ts';

/** Adapters a test fixture opened, closed newest first (ignoring failures) before it drops its namespace. */
export class TrackedAdapters {
  readonly #adapters: Lifecycle[] = [];

  /** Registers an adapter to close at cleanup; returns it. */
  track<T extends Lifecycle>(adapter: T): T {
    this.#adapters.push(adapter);
    return adapter;
  }

  async closeAll(): Promise<void> {
    for (const adapter of this.#adapters.splice(0).reverse()) await adapter.close().catch(() => undefined);
  }
}
