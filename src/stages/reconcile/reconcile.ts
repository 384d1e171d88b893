import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { LikesStore } from '../../ports/likes-store.ts';
import type { Stage } from '../stage.ts';

export interface ReconcileResult {
  readonly postsRecounted: number;
  /** Row counts per post, when specific posts were asked for. */
  readonly counts: ReadonlyMap<string, number>;
}

/** Posts recounted per atomic recount step: small enough not to hold the store's write lock long. */
const CHUNK = 500;

/**
 * The seed's "Batch Job", made exact under concurrent writes: the store counts a post's rows
 * and writes a `recount` change in one atomic step, so the recount sits at a precise place in
 * the change feed. The counter sets the count there and keeps adding the deltas after it.
 */
export async function reconcile(store: LikesStore, postIds: readonly string[] | 'all', metrics?: Metrics): Promise<ReconcileResult> {
  if (postIds !== 'all') {
    const counts = await store.recount(postIds);
    metrics?.postsRecounted.inc(counts.size);
    return { postsRecounted: counts.size, counts };
  }
  let after = '';
  let total = 0;
  for (;;) {
    const posts = await store.postsAfter(after, CHUNK);
    if (posts.length === 0) break;
    await store.recount(posts);
    metrics?.postsRecounted.inc(posts.length);
    total += posts.length;
    after = posts.at(-1) ?? after;
  }
  return { postsRecounted: total, counts: new Map() };
}

/** Runs a full reconcile every `intervalMs`; 0 disables the schedule. */
export class ScheduledReconcile implements Stage {
  readonly name = 'reconcile';
  readonly #store: LikesStore;
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  #timer: NodeJS.Timeout | undefined;
  #current: Promise<unknown> | undefined;
  #running = false;

  constructor(store: LikesStore, intervalMs: number, log: Logger, metrics: Metrics) {
    this.#store = store;
    this.#intervalMs = intervalMs;
    this.#log = log;
    this.#metrics = metrics;
  }

  get running(): boolean {
    return this.#running;
  }

  async start(): Promise<void> {
    this.#running = true;
    if (this.#intervalMs > 0) this.#timer = setInterval(() => this.#runOnce(), this.#intervalMs);
  }

  #runOnce(): void {
    if (this.#current !== undefined) return;
    const started = Date.now();
    this.#current = reconcile(this.#store, 'all', this.#metrics)
      .then((result) => this.#log.info({ posts: result.postsRecounted, ms: Date.now() - started }, 'reconcile: recounted every post'))
      .catch((error: unknown) => this.#log.error({ err: error }, 'reconcile: failed; the next run retries'))
      .finally(() => (this.#current = undefined));
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#current;
    this.#running = false;
  }
}
