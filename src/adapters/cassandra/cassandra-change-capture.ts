import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Change } from '../../domain/change.ts';
import { TallyError } from '../../domain/errors.ts';
import type { CapturedBatch, ChangeCapture } from '../../ports/change-capture.ts';
import type { CassandraConnection, CqlSession } from './cassandra-client.ts';
import { connectCassandra, num, str } from './cassandra-client.ts';
import { comparePlaces, readLog, sourceOf, type LogPlace } from './cassandra-change-log.ts';
import { CassandraIngestPositions } from './cassandra-ingest-positions.ts';
import { START } from './cassandra-relay-marks.ts';
import { cassandraNames, type CassandraNames } from './cassandra-schema.ts';

export interface CassandraChangeCaptureOptions extends CassandraConnection {
  /** Seconds a relay's lease lives without renewal (default 5): a dead relay's successor waits this long. */
  readonly leaseTtlS?: number;
  /** How often an idle poll looks at the change log again (default 20 ms). */
  readonly pollMs?: number;
}

/**
 * Reads the change log for the `cdc` relay. Each stream (log partition) is read up to its bound
 * in `ingest_positions`: everything below it is final (ingest moves the bound only once the
 * changes are written), so nothing can appear behind the reader. Where the relay got is kept per
 * stream in `capture_positions` on `ack`.
 *
 * One relay at a time: a lease row (a lightweight transaction with a TTL, renewed every second)
 * stands for PostgreSQL's exclusive replication slot. A second relay idles until the lease is
 * free, then makes its stage reopen, so that the relay reads the feed's published sources again.
 */
export class CassandraChangeCapture implements ChangeCapture {
  readonly #options: CassandraChangeCaptureOptions;
  readonly #names: CassandraNames;
  readonly #positions: CassandraIngestPositions;
  readonly #owner = randomUUID();
  #session: CqlSession | undefined;
  #holding = false;
  #renewedAt = 0;
  #cursors = new Map<number, LogPlace>();

  constructor(options: CassandraChangeCaptureOptions) {
    this.#options = options;
    this.#names = cassandraNames(options.keyspace);
    this.#positions = new CassandraIngestPositions(this.#names, () => this.#db);
  }

  get #db(): CqlSession {
    if (this.#session === undefined) throw new TallyError('not_ready', 'the Cassandra change capture is not initialised', { retriable: true });
    return this.#session;
  }

  get #ttl(): number {
    return this.#options.leaseTtlS ?? 5;
  }

  async init(): Promise<void> {
    this.#session ??= await connectCassandra(this.#options, `tally-cdc-${this.#options.keyspace}`);
    this.#holding = await this.#claim();
    if (this.#holding) await this.#loadCursors();
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    this.#holding = false;
    await session?.shutdown();
  }

  async poll(maxChanges: number, idleMs: number): Promise<CapturedBatch> {
    const deadline = Date.now() + idleMs;
    const pollMs = this.#options.pollMs ?? 20;
    if (!this.#holding) {
      if (await this.#claim()) {
        throw new TallyError('not_ready', 'cdc: took over the relay lease; reopening to read what the feed already holds', { retriable: true });
      }
      await sleep(Math.max(0, Math.min(idleMs, 1000)));
      return { changes: [], sources: [], ack: async () => undefined };
    }
    for (;;) {
      await this.#renew();
      const bounds = await this.#positions.readAll();
      const changes: Change[] = [];
      const sources: string[] = [];
      const next = new Map(this.#cursors);
      for (const stream of [...bounds.keys()].sort((a, b) => a - b)) {
        const mark = bounds.get(stream);
        if (mark === undefined) continue;
        const bound = { time: mark.next, seq: mark.recounts };
        const cursor = this.#cursors.get(stream) ?? START;
        if (comparePlaces(cursor, bound) >= 0) continue;
        const room = maxChanges - changes.length;
        const entries = await readLog(this.#db, this.#names, stream, cursor, bound, room);
        for (const entry of entries) {
          changes.push(entry.change);
          sources.push(sourceOf(entry.place));
        }
        const last = entries.at(-1);
        next.set(stream, entries.length >= room && last !== undefined ? last.place : bound);
        if (changes.length >= maxChanges) break;
      }
      const moved = [...next].filter(([stream, place]) => comparePlaces(place, this.#cursors.get(stream) ?? START) !== 0);
      if (changes.length > 0 || Date.now() >= deadline) {
        return { changes, sources, ack: () => this.#ack(moved) };
      }
      if (moved.length > 0) await this.#ack(moved);
      await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    }
  }

  async #ack(moved: readonly [number, LogPlace][]): Promise<void> {
    if (moved.length === 0) return;
    await Promise.all(
      moved.map(([stream, place]) =>
        this.#db.execute(`INSERT INTO ${this.#names.capturePositions} (stream, time, seq) VALUES (?, ?, ?)`, [stream, BigInt(place.time), place.seq]),
      ),
    );
    for (const [stream, place] of moved) this.#cursors.set(stream, place);
  }

  async #loadCursors(): Promise<void> {
    const result = await this.#db.execute(`SELECT stream, time, seq FROM ${this.#names.capturePositions}`);
    this.#cursors = new Map(result.rows.map((row) => [num(row.get('stream')), { time: num(row.get('time')), seq: num(row.get('seq')) }]));
  }

  /** Takes the lease when it is free (or already ours). */
  async #claim(): Promise<boolean> {
    const lease = this.#names.captureLease;
    const inserted = await this.#db.execute(`INSERT INTO ${lease} (id, owner) VALUES (0, ?) IF NOT EXISTS USING TTL ${this.#ttl}`, [this.#owner]);
    if (inserted.wasApplied() || str(inserted.rows[0]?.get('owner')) === this.#owner) {
      this.#renewedAt = 0;
      await this.#renew();
      return true;
    }
    return false;
  }

  /** Renews the lease at most once a second; losing it stops this relay (its stage reopens). */
  async #renew(): Promise<void> {
    if (Date.now() - this.#renewedAt < 1000) return;
    const renewed = await this.#db.execute(`UPDATE ${this.#names.captureLease} USING TTL ${this.#ttl} SET owner = ? WHERE id = 0 IF owner = ?`, [this.#owner, this.#owner]);
    if (!renewed.wasApplied()) {
      this.#holding = false;
      throw new TallyError('not_ready', 'cdc: another relay holds the change-log lease (this one stalled past its TTL); standing by', { retriable: true });
    }
    this.#renewedAt = Date.now();
  }
}
