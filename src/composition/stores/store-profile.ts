import type { Options } from '../../config/options.ts';
import type { StoreName } from '../../config/store-names.ts';
import type { ChangeCapture } from '../../ports/change-capture.ts';
import type { CounterStore } from '../../ports/counter-store.ts';
import type { Lifecycle } from '../../ports/lifecycle.ts';
import type { LikesStore } from '../../ports/likes-store.ts';
import type { SourceProgress } from '../../ports/source-progress.ts';


/**
 * What a store profile gives the distributed mode: the likes store (source of truth), the counter
 * store, the change capture the `cdc` stage relays into Kafka, and where that capture stands.
 * Kafka (the log and the change feed) and Redis (the cache) are the same for every profile.
 */
export interface StoreProfile extends Lifecycle {
  readonly name: StoreName;
  readonly likes: LikesStore;
  readonly counters: CounterStore;
  /** How far the source's changes have been relayed into the feed, for `?wait=applied`. */
  readonly source: SourceProgress;
  /** A new change capture for one `cdc` stage; it opens and closes with that stage. */
  capture(): ChangeCapture;
  /** A line for the start-up log: where the data lives (secrets redacted). */
  describe(): string;
}

/** Removes everything a profile created under a namespace (tables, schema, slots...). */
export type DropStore = (options: Options) => Promise<void>;
