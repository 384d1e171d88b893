import { Worker } from 'node:worker_threads';
import type { Options } from '../../config/options.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { CountCache } from '../../ports/count-cache.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';
import type { InProcessTracker } from '../../ports/pipeline-progress.ts';
import type { Stage } from '../stage.ts';
import type { FromPipeline, ToPipeline } from './pipeline-worker-protocol.ts';

/** Told of the counts the pipeline thread wrote (the live streams' in-process notifier). */
export interface CountsListener {
  notify(counts: readonly VersionedCount[]): void;
}

/** How long `stop` waits for the thread to drain and close its stages before ending it. */
const STOP_TIMEOUT_MS = 30_000;

/** The api thread's handle on the pipeline worker thread (`--pipeline-thread`), as one stage. */
export class PipelineWorkerStage implements Stage {
  readonly name = 'pipeline';
  readonly #options: Options;
  readonly #tracker: InProcessTracker;
  readonly #cache: CountCache;
  readonly #notifier: CountsListener;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  #worker: Worker | undefined;
  #notRunning: readonly string[] = ['ingest', 'counter', 'reconcile'];
  #stopped: (() => void) | undefined;
  #stopping = false;

  readonly #workerUrl: URL;

  /** `workerUrl`: the worker thread's script (the composition root's; tests give one that misbehaves on purpose). */
  constructor(deps: { options: Options; tracker: InProcessTracker; cache: CountCache; notifier: CountsListener; metrics: Metrics; log: Logger; workerUrl: URL }) {
    this.#workerUrl = deps.workerUrl;
    this.#options = deps.options;
    this.#tracker = deps.tracker;
    this.#cache = deps.cache;
    this.#notifier = deps.notifier;
    this.#metrics = deps.metrics;
    this.#log = deps.log;
  }

  get running(): boolean {
    return this.#worker !== undefined && this.#notRunning.length === 0;
  }

  /** Wakes the worker's ingest: the log has new records. */
  appended(): void {
    this.#send({ t: 'appended' });
  }

  async start(): Promise<void> {
    this.#stopping = false;
    await this.#spawn();
  }

  /** Ends the thread abruptly, as a crash would; like after a crash, it is started again. */
  async kill(): Promise<void> {
    await this.#worker?.terminate();
  }

  /** Starts a thread; resolves once its stages run. A thread that dies later is restarted after a pause. */
  #spawn(): Promise<void> {
    const worker = new Worker(this.#workerUrl, { workerData: { options: this.#options } });
    this.#worker = worker;
    this.#notRunning = ['ingest', 'counter', 'reconcile'];
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: FromPipeline) => {
        if (message.t === 'ready') {
          ready = true;
          resolve();
        } else if (message.t === 'failed') {
          this.#log.error({ message: message.message }, this.#stopping ? 'pipeline thread failed to stop cleanly; ending it' : 'pipeline thread failed');
          // A failed stop never says `stopped`: end the wait, stop() then ends the thread.
          if (this.#stopping) this.#stopped?.();
          reject(new Error(`pipeline thread: ${message.message}`));
        } else {
          this.#receive(message);
        }
      });
      worker.on('error', (error: unknown) => {
        this.#log.error({ err: error }, 'pipeline thread failed');
        reject(error instanceof Error ? error : new Error(String(error)));
      });
      worker.on('exit', (code) => {
        if (this.#worker === worker) this.#worker = undefined;
        this.#notRunning = ['ingest', 'counter', 'reconcile'];
        this.#stopped?.();
        if (!ready) reject(new Error(`pipeline thread exited with ${code} before it was ready`));
        else if (!this.#stopping) this.#restartLater(1000);
      });
    });
  }

  #restartLater(ms: number): void {
    this.#log.error({ retryInMs: ms }, 'pipeline thread ended unexpectedly; restarting it from the durable positions');
    setTimeout(() => {
      if (this.#stopping || this.#worker !== undefined) return;
      this.#spawn().catch((error: unknown) => {
        this.#log.error({ err: error }, 'pipeline thread did not restart');
        this.#restartLater(Math.min(ms * 2, 30_000));
      });
    }, ms).unref();
  }

  #receive(message: FromPipeline): void {
    switch (message.t) {
      case 'counts':
        // Numbered for the live streams before the cache shows them: a stream opening in between
        // must not read a count from the cache whose change is numbered after its opening id (it
        // would count as changed after that id, and a resume from it would send it again).
        this.#notifier.notify(message.counts);
        this.#cache.setMany(message.counts).catch((error: unknown) => this.#log.error({ err: error }, 'pipeline: writing counts to the in-process cache failed'));
        break;
      case 'ingested':
        this.#tracker.ingested(message.log, message.feed);
        break;
      case 'counted':
        this.#tracker.counted(message.feed);
        break;
      case 'status':
        this.#notRunning = message.notRunning;
        this.#metrics.setSource('pipeline', message.metrics);
        break;
      case 'stopped':
        this.#stopped?.();
        break;
      default:
        break;
    }
  }

  #send(message: ToPipeline): void {
    this.#worker?.postMessage(message);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const worker = this.#worker;
    if (worker === undefined) return;
    await new Promise<void>((resolve) => {
      // Bounded: a thread that neither stops nor fails in time is ended anyway.
      const timer = setTimeout(() => {
        this.#log.error({ timeoutMs: STOP_TIMEOUT_MS }, 'pipeline thread did not stop in time; ending it');
        resolve();
      }, STOP_TIMEOUT_MS);
      this.#stopped = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#send({ t: 'stop' });
    });
    this.#notRunning = ['ingest', 'counter', 'reconcile'];
    await worker.terminate();
    this.#worker = undefined;
  }
}
