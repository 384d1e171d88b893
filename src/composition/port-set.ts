import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ChangeFeed } from '../ports/change-feed.ts';
import type { CountCache } from '../ports/count-cache.ts';
import type { CountNotifier } from '../ports/count-notifier.ts';
import type { CounterStore } from '../ports/counter-store.ts';
import type { EventLog } from '../ports/event-log.ts';
import type { LikesStore } from '../ports/likes-store.ts';
import type { PipelineProgress } from '../ports/pipeline-progress.ts';
import type { InProcessProgress } from '../stages/progress/in-process-progress.ts';
import type { Stage } from '../stages/stage.ts';

/** What a backend-specific stage gets from the composition root. */
export interface StageContext {
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** The adapters behind every port, as one backend (embedded or distributed) provides them. */
export interface PortSet {
  readonly mode: 'embedded' | 'distributed';
  readonly log: EventLog;
  readonly likes: LikesStore;
  readonly feed: ChangeFeed;
  readonly counters: CounterStore;
  readonly cache: CountCache;
  /** Tells the api processes which counts changed (live streams). */
  readonly notifier: CountNotifier;
  readonly progress: PipelineProgress;
  /** Present when ingest and counter report their progress in this process. */
  readonly tracker: InProcessProgress | undefined;
  /** Backend-specific stages (the distributed mode's `cdc` relay, the embedded pipeline thread), by name. */
  readonly extraStages: ReadonlyMap<string, (context: StageContext) => Stage>;
  /** Opens every adapter. */
  init(): Promise<void>;
  /** Closes every adapter, after the stages have stopped. */
  close(): Promise<void>;
  /** A line for the start-up log: where the data lives. */
  describe(): string;
}
