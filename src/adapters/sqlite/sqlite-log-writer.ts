import { Worker } from 'node:worker_threads';
import { TallyError } from '../../domain/errors.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

/** One row of `log_records`: a partition's events (or one marker) from `base`, encoded. */
export interface LogRecordRow {
  readonly partition: number;
  readonly base: number;
  readonly count: number;
  readonly payload: string;
}

/**
 * Writes a group of log records as one durable (fsynced) transaction. The embedded log has at
 * most one write in flight: the next group is collected while this one commits.
 */
export interface LogRecordWriter {
  /** Resolves once every row is durable; rejects, having written none, otherwise. */
  write(rows: readonly LogRecordRow[]): Promise<void>;
  close(): Promise<void>;
}

const INSERT = 'INSERT INTO log_records (partition, base_offset, event_count, payload) VALUES (?, ?, ?, ?)';

/** Commits on the caller's thread (an in-memory database, tests): the thread waits for the fsync. */
export class InThreadLogWriter implements LogRecordWriter {
  readonly #db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  write(rows: readonly LogRecordRow[]): Promise<void> {
    try {
      const insert = this.#db.connection.prepare(INSERT);
      this.#db.transaction('durable', () => {
        for (const row of rows) insert.run(row.partition, row.base, row.count, row.payload);
      });
      return Promise.resolve();
    } catch (cause) {
      return Promise.reject(writeFailed(this.#db.path, cause));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** What the writer thread answers for one write. */
export interface LogWriterReply {
  readonly id: number;
  readonly error?: string;
}

/**
 * Commits in a worker thread of its own (sqlite-log-writer-worker.ts) on its own connection, so
 * the api's event loop keeps parsing requests and answering while a group's fsync runs. A thread
 * that dies fails the writes in flight (`backend_unavailable`, retriable); the next write starts
 * a new one.
 */
export class WorkerLogWriter implements LogRecordWriter {
  readonly #path: string;
  readonly #inFlight = new Map<number, { resolve: () => void; reject: (error: unknown) => void }>();
  #worker: Worker | undefined;
  #nextId = 0;

  constructor(path: string) {
    this.#path = path;
  }

  write(rows: readonly LogRecordRow[]): Promise<void> {
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#inFlight.set(id, { resolve, reject });
      worker.postMessage({ id, rows });
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker === undefined) return;
    // Writes in flight finish first: their callers were promised an answer.
    while (this.#inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    await worker.terminate();
  }

  #start(): Worker {
    const worker = new Worker(new URL('./sqlite-log-writer-worker.ts', import.meta.url), { workerData: { path: this.#path } });
    worker.on('message', (reply: LogWriterReply) => {
      const waiting = this.#inFlight.get(reply.id);
      if (waiting === undefined) return;
      this.#inFlight.delete(reply.id);
      if (reply.error === undefined) waiting.resolve();
      else waiting.reject(writeFailed(this.#path, reply.error));
    });
    const lost = (cause: unknown): void => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const [id, waiting] of this.#inFlight) {
        this.#inFlight.delete(id);
        waiting.reject(writeFailed(this.#path, cause));
      }
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(`the log writer thread exited with code ${code}`));
    this.#worker = worker;
    return worker;
  }
}

function writeFailed(path: string, cause: unknown): TallyError {
  return new TallyError('backend_unavailable', `could not write to the embedded log ${path}: ${String(cause)}`, { cause, retriable: true });
}
