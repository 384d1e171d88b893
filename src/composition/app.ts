import { setTimeout as sleep } from 'node:timers/promises';
import type { Options } from '../config/options.ts';
import { TallyError } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { LikeWriter } from '../stages/api/like-writer.ts';
import type { Api } from '../stages/api/api-types.ts';
import { buildApi } from '../stages/api/server.ts';
import { CountReader } from '../stages/read/count-reader.ts';
import { LikedPairsFilter } from '../stages/read/liked-pairs-filter.ts';
import type { Stage } from '../stages/stage.ts';
import { createApiSecurity, type ApiSecurity } from './create-api-security.ts';
import { createLive } from './live-wiring.ts';
import { pipelineStages } from './pipeline-stages.ts';
import type { PortSet } from './port-set.ts';

export type StageName = 'api' | 'ingest' | 'cdc' | 'counter' | 'reconcile';

export interface App {
  readonly ports: PortSet;
  readonly metrics: Metrics;
  /** Names of the stages this process runs (besides the api). */
  readonly stageNames: readonly string[];
  /** The HTTP server, when this process runs the api. */
  readonly api: Api | undefined;
  /** Base URL once listening. */
  url: string | undefined;
  start(): Promise<void>;
  /** The stage of that name in this process, if any. */
  stage(name: string): Stage | undefined;
  /** Stops one stage and leaves the others running (operations, tests of readiness). */
  stopStage(name: string): Promise<void>;
  /** Stops taking writes, lets the pipeline apply what the log holds (bounded), stops stages, closes ports. */
  stop(drainMs?: number): Promise<void>;
}

/** Wires stages to ports. The same wiring serves the embedded and the distributed mode. */
export async function createApp(ports: PortSet, options: Options, stages: ReadonlySet<StageName>, log: Logger, metrics = new Metrics()): Promise<App> {
  const tracker = ports.tracker;
  const running: Stage[] = [];
  const pipeline = ports.extraStages.get('pipeline');
  if (pipeline !== undefined && (stages.has('ingest') || stages.has('counter'))) {
    // The embedded mode's worker thread runs ingest, counter and reconcile itself.
    running.push(pipeline({ metrics, log }));
  } else {
    running.push(...pipelineStages(ports, stages, options, log, metrics, tracker));
  }
  const cdc = ports.extraStages.get('cdc');
  if (stages.has('cdc') && cdc !== undefined) running.push(cdc({ metrics, log }));

  let api: Api | undefined;
  let security: ApiSecurity | undefined;
  const live = stages.has('api') ? createLive(ports, options, metrics, log) : undefined;
  // Viewer flags skip the lookups of pairs never liked, where this process sees every like.
  const likedFilter = stages.has('api') && ports.likedPairs !== undefined ? new LikedPairsFilter({ ...ports.likedPairs, log, gauge: metrics.viewerFilterReady }) : undefined;
  if (stages.has('api')) {
    security = await createApiSecurity(options, log);
    // The near cache fronts a shared (remote) cache; the embedded cache is in process already.
    const reader = new CountReader(
      ports.cache,
      ports.counters,
      { nearCacheMs: ports.mode === 'distributed' ? options.nearCacheMs : 0, nearCacheEntries: options.cacheEntries },
      { metrics, log },
    );
    const writer = new LikeWriter(
      {
        log: ports.events,
        progress: ports.progress,
        metrics,
        onApplied: (events) => reader.written(events.map((e) => e.postId)),
        onErased: (posts) => (posts === 'all' ? reader.writtenAll() : reader.written(posts)),
        ...(tracker ? { onAppended: (p) => tracker.appended(p) } : {}),
        onAccepted: (events) => {
          likedFilter?.accepted(events);
          live?.accepted(events);
        },
      },
      { maxIngestLag: options.maxIngestLag, waitAppliedMs: options.waitAppliedMs },
    );
    api = await buildApi(
      {
        writer,
        reader,
        likes: ports.likes,
        likedFilter,
        metrics,
        log,
        notReady: () => running.filter((s) => !s.running).map((s) => s.name),
        verifier: security.verifier,
        buckets: security.buckets,
        ...(live ? { live: live.deps } : {}),
      },
      options,
    );
  }

  const app: App = {
    ports,
    metrics,
    stageNames: running.map((s) => s.name),
    api,
    url: undefined,
    async start() {
      await ports.init();
      for (const stage of running) await stage.start();
      live?.start();
      likedFilter?.start();
      if (api !== undefined) {
        try {
          await security?.init();
          log.info(`api security: ${security?.describe() ?? ''}`);
          app.url = await api.listen({ port: options.port, host: options.host });
        } catch (cause) {
          for (const stage of [...running].reverse()) await stage.stop();
          await security?.close();
          await ports.close();
          if ((cause as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw cause;
          throw new TallyError('invalid_option', `port ${options.port} on ${options.host} is already in use; stop what holds it or choose another --port (TALLY_PORT)`, { cause });
        }
      }
    },
    stage: (name) => running.find((s) => s.name === name),
    async stopStage(name) {
      const stage = running.find((s) => s.name === name);
      if (stage === undefined) throw new Error(`no stage ${name} in this process`);
      await stage.stop();
    },
    async stop(drainMs = 10_000) {
      // Closing the server waits for in-flight requests, hence for their appends to be durable.
      if (api !== undefined) await api.close();
      live?.stop();
      likedFilter?.stop();
      await security?.close();
      log.info('stopped taking writes; draining');
      if (tracker !== undefined && stages.has('ingest') && stages.has('counter')) {
        const deadline = Date.now() + drainMs;
        while (tracker.ingestLag() > 0 && Date.now() < deadline) await sleep(20);
        // The counter has applied the last ingest batch once its change positions are reached.
        await tracker.waitDrained(Math.max(0, deadline - Date.now()));
      }
      for (const stage of [...running].reverse()) {
        await stage.stop();
        log.info({ stage: stage.name }, `stopped ${stage.name}`);
      }
      await ports.close();
      log.info('closed every adapter');
    },
  };
  return app;
}
