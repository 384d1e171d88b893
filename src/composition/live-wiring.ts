import type { Options } from '../config/options.ts';
import type { LikeEvent } from '../domain/like-event.ts';
import type { Logger } from '../observability/logger.ts';
import { LiveMetrics } from '../observability/live-metrics.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { CountSubscription } from '../ports/count-notifier.ts';
import type { LiveDeps } from '../stages/api/api-types.ts';
import { StageLagSampler, type LagSource } from '../stages/progress/stage-lag.ts';
import { CountStreamHub } from '../stages/stream/count-stream-hub.ts';
import { FreshnessTracker } from '../stages/stream/freshness-tracker.ts';
import { TopPosts } from '../stages/stream/top-posts.ts';
import { versionedCounts } from '../stages/stream/versioned-counts.ts';
import { StreamWriterProcess } from '../stages/api/stream-writer/stream-writer.ts';
import type { PortSet } from './port-set.ts';

/** The api process's live side: the stream hub, top posts, freshness and lag metrics. */
export interface Live {
  readonly deps: LiveDeps;
  /** Tell it of events this process made durable (freshness). */
  accepted(events: readonly LikeEvent[]): void;
  /** After the ports are open. */
  start(): void;
  stop(): void;
}

function isLagSource(value: unknown): value is LagSource {
  return typeof value === 'object' && value !== null && typeof (value as { stageTotals?: unknown }).stageTotals === 'function';
}

export function createLive(ports: PortSet, options: Options, metrics: Metrics, log: Logger): Live {
  const liveMetrics = new LiveMetrics(metrics.registry);
  const hub = new CountStreamHub(
    { notifier: ports.notifier, snapshot: versionedCounts(ports.cache, ports.counters), metrics: liveMetrics, log },
    { intervalMs: options.streamIntervalMs, heartbeatMs: options.streamHeartbeatMs, maxStreams: options.maxStreams, maxBufferedBytes: options.streamBufferBytes },
  );
  const writer = options.streamWriter === 'process' ? new StreamWriterProcess({ maxBufferedBytes: options.streamBufferBytes }, { log, metrics: liveMetrics }) : undefined;
  const top = new TopPosts();
  const freshness = new FreshnessTracker((seconds) => liveMetrics.freshness.observe(seconds));
  const sampler = isLagSource(ports.progress) ? new StageLagSampler(ports.progress, liveMetrics) : undefined;
  let subscriptions: CountSubscription[] = [];
  return {
    deps: { hub, top, writer },
    accepted: (events) => freshness.accepted(events),
    start() {
      subscriptions = [ports.notifier.subscribe(top), ports.notifier.subscribe(freshness)];
      hub.start();
      sampler?.start();
    },
    stop() {
      sampler?.stop();
      hub.stop();
      writer?.close();
      for (const subscription of subscriptions) subscription.close();
      subscriptions = [];
    },
  };
}
