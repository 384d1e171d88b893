import { TallyError } from '../../domain/errors.ts';
import type { Lifecycle } from '../../ports/lifecycle.ts';
import type { SourceProgress } from '../../ports/source-progress.ts';
import type { CassandraConnection, CqlSession } from './cassandra-client.ts';
import { connectCassandra, num } from './cassandra-client.ts';
import { CassandraIngestPositions } from './cassandra-ingest-positions.ts';
import { encodeMark, relayCovers } from './cassandra-relay-marks.ts';
import { cassandraNames, type CassandraNames } from './cassandra-schema.ts';

/** Where the change log stands against the relay, for `?wait=applied` (marks compared by `relayCovers`). */
export class CassandraProgressProbe implements Lifecycle, SourceProgress {
  /** Marks are vectors of per-stream places: compared stream by stream, not as strings. */
  readonly relayCovers = relayCovers;
  readonly #options: CassandraConnection;
  readonly #names: CassandraNames;
  readonly #positions: CassandraIngestPositions;
  #session: CqlSession | undefined;

  constructor(options: CassandraConnection) {
    this.#options = options;
    this.#names = cassandraNames(options.keyspace);
    this.#positions = new CassandraIngestPositions(this.#names, () => this.#db);
  }

  async init(): Promise<void> {
    this.#session ??= await connectCassandra(this.#options, `tally-progress-${this.#options.keyspace}`);
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.shutdown();
  }

  get #db(): CqlSession {
    if (this.#session === undefined) throw new TallyError('not_ready', 'the Cassandra progress probe is not initialised', { retriable: true });
    return this.#session;
  }

  /** Per stream, the bound ingest has confirmed (everything below it is in the change log). */
  async sourceMark(): Promise<string> {
    const marks = await this.#positions.readAll();
    return encodeMark(new Map([...marks].map(([stream, mark]) => [stream, { time: mark.next, seq: mark.recounts }])));
  }

  /** Per stream, where the relay has published up to. */
  async relayConfirmed(): Promise<string> {
    const result = await this.#db.execute(`SELECT stream, time, seq FROM ${this.#names.capturePositions}`);
    return encodeMark(new Map(result.rows.map((row) => [num(row.get('stream')), { time: num(row.get('time')), seq: num(row.get('seq')) }])));
  }
}
