import { Socket } from 'node:net';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import type { Change } from '../../domain/change.ts';
import { TallyError } from '../../domain/errors.ts';
import type { CapturedBatch, ChangeCapture } from '../../ports/change-capture.ts';
import { createPool } from './pg-client.ts';
import { formatLsn, parseLsn, sourceOf } from './pg-lsn.ts';
import { pgNames, type PgNames } from './pg-schema.ts';
import { PgTransactionChanges, type PgoutputMessage } from './pg-transaction-changes.ts';

export interface PgChangeCaptureOptions {
  readonly url: string;
  readonly namespace: string;
  /** Committed changes buffered before the stream is paused (default 100,000). */
  readonly maxBuffered?: number;
  /** How often the confirmed position is re-sent even when nothing changed, in ms (default 10,000). */
  readonly statusIntervalMs?: number;
  /** How long `init` waits for the replication stream to start, in ms (default 15,000). */
  readonly startTimeoutMs?: number;
}

/** Handed-out batches, in hand-out order, so that acknowledgements take effect in that order. */
interface BatchRecord {
  readonly generation: number;
  /** What the server may forget once this batch is acknowledged, when it ends a transaction. */
  readonly flushTo: bigint | undefined;
  done: boolean;
}

/**
 * Change capture from PostgreSQL logical replication (pgoutput) on the namespace's slot. Only
 * committed transactions reach the stream, in commit order; each change's source is its
 * transaction's commit LSN and its index in it. The slot's confirmed position advances only over
 * transactions whose every change was handed out in acknowledged batches, so a crash redelivers
 * everything not acknowledged (the relay skips what it already published by source).
 *
 * `close` then `init` reconnects and resumes from the last acknowledged position.
 */
export class PgChangeCapture implements ChangeCapture {
  readonly #options: PgChangeCaptureOptions;
  readonly #names: PgNames;
  readonly #maxBuffered: number;
  #service: LogicalReplicationService | undefined;
  #socket: Socket | undefined;
  #transactions: PgTransactionChanges;
  #generation = 0;
  /** Committed changes not yet handed out; `#head` is the first one. */
  #changes: Change[] = [];
  #sources: string[] = [];
  /** Per buffered change: the flush position once it is handled, when it is its transaction's last. */
  #txnEnds: (bigint | undefined)[] = [];
  #head = 0;
  #batches: BatchRecord[] = [];
  /** The position the server may forget up to (exclusive): confirmed_flush_lsn of the slot. */
  #flushed = 0n;
  #paused = false;
  #failure: Error | undefined;
  #closing = false;
  #wake: (() => void) | undefined;
  #onFailure: (() => void) | undefined;
  #statusTimer: NodeJS.Timeout | undefined;

  constructor(options: PgChangeCaptureOptions) {
    this.#options = options;
    this.#names = pgNames(options.namespace);
    this.#maxBuffered = options.maxBuffered ?? 100_000;
    this.#transactions = new PgTransactionChanges(options.namespace);
  }

  async init(): Promise<void> {
    if (this.#service !== undefined) {
      if (this.#failure === undefined) return;
      await this.close();
    }
    this.#reset();
    this.#closing = false;
    this.#flushed = await this.#readConfirmedFlush();
    const service = new LogicalReplicationService(
      {
        connectionString: this.#options.url,
        application_name: `tally-cdc-${this.#options.namespace}`,
        // Our own socket, so the stream can be paused when the buffer is full.
        stream: () => (this.#socket = new Socket()),
      },
      // Acknowledgements are ours alone: the library's timer would confirm what was merely received.
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
    this.#service = service;
    const generation = this.#generation;
    service.on('data', (_lsn: string, message: unknown) => this.#onMessage(message as PgoutputMessage));
    service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => this.#onKeepalive(lsn, shouldRespond));
    service.on('error', (error: Error) => this.#fail(error, generation));
    const timeoutMs = this.#options.startTimeoutMs ?? 15_000;
    const outcome = await new Promise<'started' | 'failed' | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      service.once('start', () => {
        clearTimeout(timer);
        resolve('started');
      });
      this.#onFailure = () => {
        clearTimeout(timer);
        resolve('failed');
      };
      const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.#names.publication] });
      service.subscribe(plugin, this.#names.slot).then(
        () => this.#fail(new Error('the replication stream ended'), generation),
        (error: unknown) => this.#fail(error instanceof Error ? error : new Error(String(error)), generation),
      );
    });
    this.#onFailure = undefined;
    if (outcome !== 'started') {
      const cause = this.#failure ?? new Error(`no replication stream after ${timeoutMs} ms`);
      await this.close();
      throw new TallyError('backend_unavailable', `cannot stream the replication slot ${this.#names.slot}: ${cause.message}`, { cause, retriable: true });
    }
    const statusEvery = this.#options.statusIntervalMs ?? 10_000;
    this.#statusTimer = setInterval(() => this.#sendStatus(), statusEvery);
    this.#statusTimer.unref();
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#statusTimer);
    this.#statusTimer = undefined;
    const service = this.#service;
    this.#service = undefined;
    this.#socket = undefined;
    this.#wake?.();
    // Ending a connection that is streaming destroys its socket, so this does not wait on the server.
    if (service !== undefined) await service.destroy().catch(() => undefined);
    this.#reset();
  }

  async poll(maxChanges: number, idleMs: number): Promise<CapturedBatch> {
    this.#throwIfFailed();
    if (this.#buffered() === 0 && idleMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), idleMs);
        const done = (): void => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = done;
      });
      this.#throwIfFailed();
    }
    const end = Math.min(this.#changes.length, this.#head + Math.max(0, maxChanges));
    const changes = this.#changes.slice(this.#head, end);
    const sources = this.#sources.slice(this.#head, end);
    let flushTo: bigint | undefined;
    for (let i = this.#head; i < end; i++) flushTo = this.#txnEnds[i] ?? flushTo;
    this.#head = end;
    this.#compact();
    if (this.#paused && this.#buffered() <= this.#maxBuffered / 2) {
      this.#paused = false;
      this.#socket?.resume();
    }
    if (changes.length === 0) return { changes, sources, ack: async () => undefined };
    const record: BatchRecord = { generation: this.#generation, flushTo, done: false };
    this.#batches.push(record);
    return { changes, sources, ack: async () => this.#acknowledge(record) };
  }

  #onMessage(message: PgoutputMessage): void {
    if (this.#failure !== undefined) return;
    let committed;
    try {
      committed = this.#transactions.push(message);
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (committed === undefined || committed.changes.length === 0) return;
    committed.changes.forEach((change, index) => {
      this.#changes.push(change);
      this.#sources.push(sourceOf(committed.commitLsn, index));
      // The server skips transactions whose commit record starts before the confirmed position.
      this.#txnEnds.push(index === committed.changes.length - 1 ? committed.commitLsn + 1n : undefined);
    });
    if (!this.#paused && this.#buffered() >= this.#maxBuffered) {
      this.#paused = true;
      this.#socket?.pause();
    }
    this.#wake?.();
  }

  /**
   * A keepalive carries the server's position: every transaction committed before it has been
   * sent. When nothing is buffered, in flight or handed out unacknowledged, the slot may forget
   * everything up to it (WAL of other tables and databases included).
   */
  #onKeepalive(lsn: string, shouldRespond: boolean): void {
    const position = parseLsn(lsn);
    if (!this.#transactions.inTransaction && this.#buffered() === 0 && this.#batches.length === 0 && position > this.#flushed) {
      this.#flushed = position;
      this.#sendStatus();
    } else if (shouldRespond) {
      this.#sendStatus();
    }
  }

  #acknowledge(record: BatchRecord): void {
    if (record.generation !== this.#generation) return;
    record.done = true;
    let advanced = false;
    while (this.#batches[0]?.done === true) {
      const first = this.#batches.shift();
      if (first?.flushTo !== undefined && first.flushTo > this.#flushed) {
        this.#flushed = first.flushTo;
        advanced = true;
      }
    }
    if (advanced) this.#sendStatus();
  }

  /** Tells the server where it may forget the slot's WAL (the standby status update). */
  #sendStatus(): void {
    const service = this.#service;
    if (service === undefined || this.#flushed === 0n) return;
    // The library reports the position it is given plus one byte.
    service.acknowledge(formatLsn(this.#flushed - 1n)).catch(() => undefined);
  }

  async #readConfirmedFlush(): Promise<bigint> {
    const pool = createPool({ url: this.#options.url, max: 1, applicationName: `tally-cdc-${this.#options.namespace}` });
    try {
      const result = await pool.query<{ confirmed_flush_lsn: string | null }>(
        'SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1',
        [this.#names.slot],
      );
      const row = result.rows[0];
      if (row === undefined) {
        throw new TallyError('not_ready', `replication slot ${this.#names.slot} does not exist; run the PostgreSQL migration (migratePostgres) first`, { retriable: true });
      }
      return row.confirmed_flush_lsn === null ? 0n : parseLsn(row.confirmed_flush_lsn);
    } catch (error) {
      if (error instanceof TallyError) throw error;
      throw new TallyError('backend_unavailable', `cannot read replication slot ${this.#names.slot}: ${String(error)}`, { cause: error, retriable: true });
    } finally {
      await pool.end();
    }
  }

  #fail(error: Error, generation = this.#generation): void {
    if (this.#closing || generation !== this.#generation || this.#failure !== undefined) return;
    this.#failure = error;
    this.#wake?.();
    this.#onFailure?.();
  }

  #throwIfFailed(): void {
    if (this.#service === undefined) throw new TallyError('not_ready', 'the change capture is not initialised', { retriable: true });
    const failure = this.#failure;
    if (failure !== undefined) {
      throw new TallyError('backend_unavailable', `the replication stream of slot ${this.#names.slot} failed: ${failure.message}; close and init the capture to resume from the acknowledged position`, { cause: failure, retriable: true });
    }
  }

  #buffered(): number {
    return this.#changes.length - this.#head;
  }

  #compact(): void {
    if (this.#head === this.#changes.length) {
      this.#changes = [];
      this.#sources = [];
      this.#txnEnds = [];
      this.#head = 0;
    } else if (this.#head > 65_536) {
      this.#changes.splice(0, this.#head);
      this.#sources.splice(0, this.#head);
      this.#txnEnds.splice(0, this.#head);
      this.#head = 0;
    }
  }

  #reset(): void {
    this.#generation++;
    this.#transactions = new PgTransactionChanges(this.#options.namespace);
    this.#changes = [];
    this.#sources = [];
    this.#txnEnds = [];
    this.#head = 0;
    this.#batches = [];
    this.#paused = false;
    this.#failure = undefined;
  }
}
