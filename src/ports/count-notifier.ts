import type { Lifecycle } from './lifecycle.ts';
import type { VersionedCount } from './counter-store.ts';

/** What a subscriber of count changes is told. */
export interface CountListener {
  /** Counts the counter just wrote (newest version per post; a late one may repeat an older version). */
  changed(counts: readonly VersionedCount[]): void;
  /**
   * Notifications may have been lost (the transport reconnected): whoever relies on them should
   * read the current values again.
   */
  resync(): void;
}

/** A subscription; `close` stops its notifications. */
export interface CountSubscription {
  close(): void;
}

/**
 * Tells every api process which counts changed, so live streams (SSE) can push them. The counter
 * publishes the counts it wrote; each api process subscribes once. Delivery is at most once:
 * after a transport failure the subscribers get `resync` and read the current values again.
 */
export interface CountNotifier extends Lifecycle {
  /** Publishes counts just written; throws a retriable TallyError when the transport is down. */
  publish(counts: readonly VersionedCount[]): Promise<void>;
  /** Subscribes to every count published from now on (by any process sharing the transport). */
  subscribe(listener: CountListener): CountSubscription;
}
