import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { TallyError } from '../../domain/errors.ts';
import type { Change } from '../../domain/change.ts';
import type { LikeEvent } from '../../domain/like-event.ts';
import { RecentRecords } from './recent-records.ts';
import { applySchema, type SqliteFileRole } from './sqlite-schema.ts';

export type Durability = 'durable' | 'crash-safe';

/** How long a statement waits for another connection's lock before failing. */
const BUSY_TIMEOUT_MS = 10_000;
/** SQLite's result code for a lock another connection holds. */
const SQLITE_BUSY = 5;

/**
 * Page size of a new database file, in bytes. 16 KiB instead of SQLite's 4 KiB: shallower B-trees
 * and a quarter as many leaf pages for a batch to dirty and for the commit to write to the WAL.
 * The Likes tab's by-user index puts each like on a random leaf, so with it the ingest transaction
 * costs 15–25% less CPU (BENCHMARKS.md, "Likes tab index cost"). Only a new file takes it: SQLite
 * cannot change the page size of a WAL file in place.
 */
export const PAGE_SIZE = 16384;

/**
 * One connection to the embedded database file, shared by the SQLite adapters of one process.
 * WAL mode; `durable` transactions fsync at commit (log appends: a 2xx promises durability),
 * `crash-safe` ones survive a process crash and are made durable by the next fsync, in order.
 */
export class SqliteDatabase {
  readonly path: string;
  /**
   * Log records just appended, by `partition:baseOffset`, for an ingest in this thread; none are
   * kept when the ingest reads the file from another thread (`keepRecent: false`).
   */
  readonly recentEvents: RecentRecords<readonly LikeEvent[]>;
  /** Change records just written, by sequence number, for a counter in this thread. */
  readonly recentChanges: RecentRecords<readonly Change[]>;
  readonly #db: DatabaseSync;
  readonly #listeners = new Map<string, Set<() => void>>();
  #synchronous: 'FULL' | 'NORMAL' = 'NORMAL';
  #open = true;
  #checkpointer: Worker | undefined;

  /**
   * Opens (creating if needed) `file` in `dataDir` with the tables of `roles` (default both).
   * `checkpointer`: whether this connection runs the background checkpoint thread; exactly one
   * connection per file, the one that writes, should. `keepRecent`: whether a reader in this
   * thread takes just-written records as objects (default true).
   */
  constructor(dataDir: string, options: { file?: string; roles?: readonly SqliteFileRole[]; checkpointer?: boolean; keepRecent?: boolean } = {}) {
    const recent = options.keepRecent === false ? 0 : 1024;
    this.recentEvents = new RecentRecords(recent);
    this.recentChanges = new RecentRecords(recent);
    if (dataDir !== ':memory:') mkdirSync(dataDir, { recursive: true });
    this.path = dataDir === ':memory:' ? ':memory:' : join(dataDir, options.file ?? 'tally.db');
    try {
      this.#db = new DatabaseSync(this.path);
    } catch (cause) {
      throw new TallyError('invalid_option', `cannot open the embedded database ${this.path}: ${String(cause)}; check --data`, { cause });
    }
    // Before WAL mode, so a new file is created with it; an existing file keeps its page size.
    this.#db.exec(`PRAGMA page_size = ${PAGE_SIZE}`);
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec('PRAGMA synchronous = NORMAL');
    this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Page cache: 256 MiB where the likes store's indexes live; the log is appended and read
    // once, in order, so a small cache serves it (each thread's connection has its own cache).
    const roles = options.roles ?? ['log', 'store'];
    this.#db.exec(`PRAGMA cache_size = ${roles.includes('store') ? -262144 : -16384}`);
    this.#db.exec('PRAGMA temp_store = MEMORY');
    // One IMMEDIATE transaction: two connections opening a new or older file do not both convert it.
    this.transaction('crash-safe', () => applySchema(this.#db, roles));
    if (this.path !== ':memory:' && options.checkpointer !== false) {
      // A worker thread backfills the WAL into the database continuously (PASSIVE checkpoints never
      // block the writer), so the checkpoint a commit runs every 10,000 pages of WAL (160 MB with
      // 16 KiB pages, 40 MB in a file with 4 KiB pages) finds little left to copy and resets the WAL.
      this.#db.exec('PRAGMA wal_autocheckpoint = 10000');
      this.#checkpointer = new Worker(new URL('./sqlite-checkpoint-worker.ts', import.meta.url), { workerData: { path: this.path, intervalMs: 200 } });
      this.#checkpointer.unref();
    }
  }

  get connection(): DatabaseSync {
    return this.#db;
  }

  /** Runs `work` in one IMMEDIATE transaction; rolls back when it throws. */
  transaction<T>(durability: Durability, work: () => T): T {
    this.#begin(durability);
    return this.#finish(work);
  }

  /**
   * {@link transaction}, unless another connection holds the file's write lock: then nothing runs
   * and the answer is `undefined` at once, instead of waiting (SQLite's busy handler sleeps in
   * growing steps, so a wait behind an fsync of 30 ms often lasts 50). For writes that can wait
   * for a later turn, such as the embedded log's consumer positions, which ingest commits as a
   * hint while the api's appends hold the lock during their fsync.
   */
  tryTransaction<T>(durability: Durability, work: () => T): T | undefined {
    this.#db.exec('PRAGMA busy_timeout = 0');
    try {
      this.#begin(durability);
    } catch (error) {
      if ((error as { errcode?: number }).errcode === SQLITE_BUSY) return undefined;
      throw error;
    } finally {
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    return this.#finish(work);
  }

  #begin(durability: Durability): void {
    const wanted = durability === 'durable' ? 'FULL' : 'NORMAL';
    if (wanted !== this.#synchronous) {
      this.#db.exec(`PRAGMA synchronous = ${wanted}`);
      this.#synchronous = wanted;
    }
    this.#db.exec('BEGIN IMMEDIATE');
  }

  #finish<T>(work: () => T): T {
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Wakes in-process waiters of `topic` (a table that just got rows). */
  notify(topic: string): void {
    const listeners = this.#listeners.get(topic);
    if (listeners === undefined) return;
    this.#listeners.delete(topic);
    for (const listener of listeners) listener();
  }

  /**
   * Resolves on the next `notify(topic)` or after `ms`, whichever is first. Other processes
   * writing the same file do not notify: the timeout makes readers poll for them.
   */
  waitFor(topic: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let listeners = this.#listeners.get(topic);
      if (listeners === undefined) {
        listeners = new Set();
        this.#listeners.set(topic, listeners);
      }
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.get(topic)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      listeners.add(done);
    });
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const topic of [...this.#listeners.keys()]) this.notify(topic);
    void this.#checkpointer?.terminate();
    this.#checkpointer = undefined;
    try {
      this.#db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } catch {
      // Another process still reads the file; its last checkpoint happens later.
    }
    this.#db.close();
  }
}
