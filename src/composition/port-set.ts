import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ChangeFeed } from '../ports/change-feed.ts';
import type { CountCache } from '../ports/count-cache.ts';
import type { CountNotifier } from '../ports/count-notifier.ts';
import type { CounterStore } from '../ports/counter-store.ts';
import type { EventLog } from '../ports/event-log.ts';
import type { LikedPairsSource } from '../ports/liked-pairs-source.ts';
import type { LikesStore } from '../ports/likes-store.ts';
import type { InProcessTracker, PipelineProgress } from '../ports/pipeline-progress.ts';
import type { Stage } from '../stages/stage.ts';

/** What a backend-specific stage gets from the composition root. */
export interface StageContext {
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** What the liked-pairs filter (stages/read/liked-pairs-filter.ts) loads from. */
export interface LikedPairsPorts {
  readonly source: LikedPairsSource;
  /** Resolves once every like the log held at the call has its row in the likes store. */
  readonly caughtUp: () => Promise<void>;
}

/** The adapters behind every port, as one backend (embedded or distributed) provides them. */
export interface PortSet {
  readonly mode: 'embedded' | 'distributed';
  readonly events: EventLog;
  readonly likes: LikesStore;
  readonly feed: ChangeFeed;
  readonly counters: CounterStore;
  readonly cache: CountCache;
  /** Tells the api processes which counts changed (live streams). */
  readonly notifier: CountNotifier;
  readonly progress: PipelineProgress;
  /** Present when ingest and counter report their progress in this process. */
  readonly tracker: InProcessTracker | undefined;
  /** Backend-specific stages (the distributed mode's `cdc` relay, the embedded pipeline thread), by name. */
  readonly extraStages: ReadonlyMap<string, (context: StageContext) => Stage>;
  /**
   * Present when one process sees every like (the embedded mode): the store's liked pairs, and a
   * wait until everything the log held has rows; the api's liked-pairs filter loads from them.
   */
  readonly likedPairs?: LikedPairsPorts;
  /** Opens every adapter. */
  init(): Promise<void>;
  /** Closes every adapter, after the stages have stopped. */
  close(): Promise<void>;
  /** A line for the start-up log: where the data lives. */
  describe(): string;
}
