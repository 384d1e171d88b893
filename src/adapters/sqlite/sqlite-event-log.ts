import type { StatementSync } from 'node:sqlite';
import type { StreamPosition } from '../../domain/change.ts';
import { TallyError } from '../../domain/errors.ts';
import { partitionOf } from '../../domain/hash.ts';
import type { LikeEvent } from '../../domain/like-event.ts';
import { isErasureMarker, markerPartitions, type ErasureMarker } from '../../domain/erasure.ts';
import type { AppendResult, ConsumerOptions, EventLog, LogBatch, LogConsumer } from '../../ports/event-log.ts';
import { decodeRecord, encodeEvents, encodeMarker } from './sqlite-codec.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

const TOPIC = 'log_records';

export interface SqliteEventLogOptions {
  readonly partitions: number;
  /** Appends waiting for the next group commit beyond which `append` fails with `overloaded`. */
  readonly maxPendingEvents: number;
  /** Called after each group commit (a consumer in another thread is woken through it). */
  readonly onCommitted?: () => void;
}

interface PendingAppend {
  readonly events: readonly LikeEvent[];
  /** An erasure marker appended instead of events (then `events` is empty). */
  readonly marker?: ErasureMarker;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The embedded like-events log. Appends that arrive in the same event-loop turn are group
 * committed: one fsynced transaction, one record per partition holding all of its events.
 */
export class SqliteEventLog implements EventLog {
  readonly partitions: number;
  /** The embedded log keys by post alone. */
  readonly hotShards = 1;
  readonly #db: SqliteDatabase;
  readonly #maxPendingEvents: number;
  #pending: PendingAppend[] = [];
  #pendingEvents = 0;
  #flushScheduled = false;
  #nextOffsets: number[] = [];
  #insert: StatementSync | undefined;
  readonly #onCommitted: (() => void) | undefined;

  constructor(db: SqliteDatabase, options: SqliteEventLogOptions) {
    this.#db = db;
    this.partitions = options.partitions;
    this.#maxPendingEvents = options.maxPendingEvents;
    this.#onCommitted = options.onCommitted;
  }

  async init(): Promise<void> {
    const conn = this.#db.connection;
    const highest = conn
      .prepare('SELECT partition, MAX(base_offset + event_count) AS next FROM log_records GROUP BY partition')
      .all() as { partition: number; next: number }[];
    const committed = conn
      .prepare('SELECT consumer_group, partition, next_offset AS next FROM log_consumer_positions')
      .all() as { consumer_group: string; partition: number; next: number }[];
    this.#checkPartitions(highest, committed);
    this.#nextOffsets = Array.from({ length: this.partitions }, () => 0);
    for (const row of [...highest, ...committed]) {
      this.#nextOffsets[row.partition] = Math.max(this.#nextOffsets[row.partition] ?? 0, row.next);
    }
    conn.prepare("INSERT INTO log_settings (key, value) VALUES ('partitions', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(this.partitions));
    this.#insert = conn.prepare('INSERT INTO log_records (partition, base_offset, event_count, payload) VALUES (?, ?, ?, ?)');
  }

  /**
   * Partitions can only grow, and only while every consumer group has read everything: a post's
   * events then move to their new partition with nothing of theirs left behind in the old one,
   * so no (post, user) pair's events can be applied out of order (invariant 3).
   */
  #checkPartitions(highest: readonly { partition: number; next: number }[], committed: readonly { consumer_group: string; partition: number; next: number }[]): void {
    const row = this.#db.connection.prepare("SELECT value FROM log_settings WHERE key = 'partitions'").get() as { value: string } | undefined;
    const present = Math.max(0, ...[...highest, ...committed].map((r) => r.partition + 1));
    const stored = row === undefined ? present : Number(row.value);
    if (stored === 0 || stored === this.partitions) return;
    if (this.partitions < stored) {
      throw new TallyError(
        'invalid_option',
        `the data directory's log has ${stored} partitions but --partitions is ${this.partitions}; partitions can only grow, set --partitions to ${stored} or more`,
      );
    }
    // What the slowest consumer group has not read (everything, when no group has read yet).
    const groups = [...new Set(committed.map((r) => r.consumer_group))];
    const readUpTo = (group: string, partition: number): number => committed.find((c) => c.consumer_group === group && c.partition === partition)?.next ?? 0;
    const unread = highest.reduce((sum, h) => sum + h.next - Math.min(h.next, ...groups.map((g) => readUpTo(g, h.partition)), ...(groups.length === 0 ? [0] : [])), 0);
    if (unread > 0) {
      throw new TallyError(
        'invalid_option',
        `--partitions ${this.partitions} would move posts to other partitions while the log still holds ${unread} unread event(s) in the ${stored} partitions it has, which could apply a user's like and unlike out of order; start once more with --partitions ${stored} until the pipeline has applied everything (./tally serve, then stop it), then change --partitions`,
      );
    }
  }

  /** The position after the last committed record of each partition. */
  endPositions(): StreamPosition[] {
    return this.#nextOffsets.map((offset, partition) => ({ partition, offset }));
  }

  async close(): Promise<void> {
    this.#flush();
  }

  append(events: readonly LikeEvent[]): Promise<AppendResult> {
    if (events.length === 0) return Promise.resolve({ positions: [] });
    if (this.#pendingEvents + events.length > this.#maxPendingEvents) {
      return Promise.reject(
        new TallyError('overloaded', `the log has ${this.#pendingEvents} events waiting for a commit; retry later`, { retriable: true }),
      );
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ events, resolve, reject });
      this.#pendingEvents += events.length;
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  appendErasure(marker: ErasureMarker): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ events: [], marker, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#pendingEvents = 0;
    const insert = this.#insert;
    if (insert === undefined) {
      for (const append of batch) append.reject(new TallyError('not_ready', 'the event log is not initialised', { retriable: true }));
      return;
    }
    const byPartition = new Map<number, LikeEvent[]>();
    const markers: { marker: ErasureMarker; partitions: number[] }[] = [];
    const touched = batch.map((append) => {
      const partitions = new Set<number>();
      if (append.marker !== undefined) {
        const where = markerPartitions(append.marker, this.partitions);
        markers.push({ marker: append.marker, partitions: where });
        for (const p of where) partitions.add(p);
      }
      for (const event of append.events) {
        const partition = partitionOf(event.postId, this.partitions);
        partitions.add(partition);
        let list = byPartition.get(partition);
        if (list === undefined) byPartition.set(partition, (list = []));
        list.push(event);
      }
      return partitions;
    });
    const after = new Map<number, number>();
    try {
      this.#db.transaction('durable', () => {
        for (const [partition, events] of byPartition) {
          const base = this.#nextOffsets[partition] ?? 0;
          insert.run(partition, base, events.length, encodeEvents(events));
          this.#db.recentEvents.set(`${partition}:${base}`, events);
          after.set(partition, base + events.length);
        }
        // Each marker is a record of its own, after this group's likes in its partitions.
        for (const { marker, partitions } of markers) {
          const payload = encodeMarker(marker);
          for (const partition of partitions) {
            const base = after.get(partition) ?? this.#nextOffsets[partition] ?? 0;
            insert.run(partition, base, 1, payload);
            after.set(partition, base + 1);
          }
        }
      });
    } catch (cause) {
      const error = new TallyError('backend_unavailable', `could not write to the embedded log ${this.#db.path}: ${String(cause)}`, { cause, retriable: true });
      for (const append of batch) append.reject(error);
      return;
    }
    for (const [partition, next] of after) this.#nextOffsets[partition] = next;
    this.#db.notify(TOPIC);
    this.#onCommitted?.();
    batch.forEach((append, i) => {
      const positions: StreamPosition[] = [];
      for (const partition of touched[i] ?? []) positions.push({ partition, offset: after.get(partition) ?? 0 });
      append.resolve({ positions });
    });
  }

  async consumer(options: ConsumerOptions): Promise<LogConsumer> {
    const start = options.resumeFrom === undefined ? undefined : await options.resumeFrom();
    return new SqliteLogConsumer(this.#db, this.partitions, options, start);
  }
}

/** The only member of its group in the embedded mode: it reads every partition. */
class SqliteLogConsumer implements LogConsumer {
  readonly #db: SqliteDatabase;
  readonly #options: ConsumerOptions;
  readonly #next: number[];
  readonly #read: StatementSync;
  readonly #commit: StatementSync;
  readonly #prune: StatementSync;
  /** Positions committed while the log's write lock was taken: stored with the next commit. */
  readonly #uncommitted = new Map<number, number>();
  #closed = false;

  /** `start` overrides the group's committed positions (ConsumerOptions.resumeFrom). */
  constructor(db: SqliteDatabase, partitions: number, options: ConsumerOptions, start: readonly StreamPosition[] | undefined) {
    this.#db = db;
    this.#options = options;
    const conn = db.connection;
    this.#next = Array.from({ length: partitions }, () => 0);
    const rows = conn
      .prepare('SELECT partition, next_offset FROM log_consumer_positions WHERE consumer_group = ?')
      .all(options.group) as { partition: number; next_offset: number }[];
    for (const row of start === undefined ? rows : start.map((p) => ({ partition: p.partition, next_offset: p.offset }))) {
      if (row.partition < partitions) this.#next[row.partition] = row.next_offset;
    }
    this.#read = conn.prepare(
      'SELECT base_offset, event_count, payload FROM log_records WHERE partition = ? AND base_offset + event_count > ? ORDER BY base_offset LIMIT ?',
    );
    this.#commit = conn.prepare(
      'INSERT INTO log_consumer_positions (consumer_group, partition, next_offset) VALUES (?, ?, ?) ON CONFLICT (consumer_group, partition) DO UPDATE SET next_offset = excluded.next_offset',
    );
    this.#prune = conn.prepare('DELETE FROM log_records WHERE partition = ? AND base_offset + event_count <= ?');
  }

  async poll(idleMs: number): Promise<LogBatch> {
    let batch = this.#readAvailable();
    if (batch.events.length === 0 && batch.marker === undefined && !this.#closed) {
      await this.#db.waitFor(TOPIC, idleMs);
      if (!this.#closed) batch = this.#readAvailable();
    }
    // A part-full batch waits up to maxWaitMs for more (default 0: measured, the wait delayed every
    // like by its length and saved nothing a backlog does not save anyway; BENCHMARKS.md).
    const deadline = Date.now() + this.#options.maxWaitMs;
    while (batch.marker === undefined && batch.events.length > 0 && batch.events.length < this.#options.maxEvents && !this.#closed && Date.now() < deadline) {
      await this.#db.waitFor(TOPIC, deadline - Date.now());
      if (this.#closed) break;
      const more = this.#readAvailable(this.#options.maxEvents - batch.events.length);
      // A read holding only a marker still ends the batch with it (the consumer is past it now).
      if (more.events.length === 0 && more.marker === undefined) continue;
      batch = mergeBatches(batch, more);
    }
    return batch;
  }

  #readAvailable(maxEvents = this.#options.maxEvents): LogBatch {
    const events: LikeEvent[] = [];
    const positions: StreamPosition[] = [];
    for (let partition = 0; partition < this.#next.length && events.length < maxEvents; partition++) {
      let next = this.#next[partition] ?? 0;
      const rows = this.#read.all(partition, next, 64) as { base_offset: number; event_count: number; payload: string }[];
      if (rows.length === 0) continue;
      for (const row of rows) {
        const decoded = this.#db.recentEvents.take(`${partition}:${row.base_offset}`) ?? decodeRecord(row.payload);
        if (isErasureMarker(decoded)) {
          if (next > row.base_offset) continue;
          // A marker ends the batch (LogBatch.marker).
          this.#next[partition] = row.base_offset + 1;
          positions.push({ partition, offset: row.base_offset + 1 });
          return { events, positions, marker: { event: decoded, partition, offset: row.base_offset } };
        }
        // A record is taken whole; skip the part of it a previous commit already covered.
        const skip = Math.max(0, next - row.base_offset);
        for (let i = skip; i < decoded.length; i++) events.push(decoded[i] as LikeEvent);
        next = row.base_offset + row.event_count;
        if (events.length >= maxEvents) break;
      }
      this.#next[partition] = next;
      positions.push({ partition, offset: next });
    }
    return { events, positions };
  }

  /**
   * Stores the positions and prunes the records before them, when the log's write lock is free;
   * otherwise with a later commit (or at close). The positions are a hint here (ingest resumes
   * from the likes store's own), and waiting behind an append's fsync stalled the pipeline thread
   * for 30–100 ms at a time (BENCHMARKS.md, "Session of 2026-11-30 afternoon").
   */
  async commit(batch: LogBatch): Promise<void> {
    for (const { partition, offset } of batch.positions) this.#uncommitted.set(partition, offset);
    if (this.#uncommitted.size > 0 && this.#db.tryTransaction('crash-safe', () => this.#store()) !== undefined) this.#uncommitted.clear();
  }

  #store(): true {
    for (const [partition, offset] of this.#uncommitted) {
      this.#commit.run(this.#options.group, partition, offset);
      this.#prune.run(partition, offset);
    }
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#uncommitted.size > 0) {
      this.#db.transaction('crash-safe', () => this.#store());
      this.#uncommitted.clear();
    }
    this.#db.notify(TOPIC);
  }
}

/** Two consecutive batches of one consumer as one: events in order, the later position per partition. */
function mergeBatches(first: LogBatch, second: LogBatch): LogBatch {
  const positions = new Map(first.positions.map((p) => [p.partition, p.offset]));
  for (const p of second.positions) positions.set(p.partition, p.offset);
  return {
    events: [...first.events, ...second.events],
    positions: [...positions].map(([partition, offset]) => ({ partition, offset })),
    ...(second.marker === undefined ? {} : { marker: second.marker }),
  };
}
