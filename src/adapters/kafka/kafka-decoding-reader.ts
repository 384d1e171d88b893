import type { StreamPosition } from '../../domain/change.ts';
import type { FetchedRecord, KafkaGroupReader } from './kafka-group-reader.ts';

/** Decoded values in per-partition order, and for each partition read the offset after its last record. */
export interface DecodedBatch<T> {
  readonly items: T[];
  readonly positions: readonly StreamPosition[];
}

export interface DecodingReaderOptions<T> {
  /** The values a record holds (one, or a bundle's), or undefined when it is not one (a foreign producer's message). */
  readonly decode: (record: FetchedRecord) => readonly T[] | undefined;
  /** Told of each record that did not decode (it is skipped; its position still counts as read). */
  readonly skipped: (record: FetchedRecord) => void;
}

/**
 * A group reader whose records come out decoded, shared by the event log's consumers and the
 * change feed's readers. The adapter that opened it keeps it in `open` until it closes, so the
 * adapter's own `close` can close every reader still open.
 */
export class DecodingReader<T> {
  readonly #reader: KafkaGroupReader;
  readonly #options: DecodingReaderOptions<T>;
  readonly #open: Set<DecodingReader<T>>;

  constructor(reader: KafkaGroupReader, options: DecodingReaderOptions<T>, open: Set<DecodingReader<T>>) {
    this.#reader = reader;
    this.#options = options;
    this.#open = open;
    open.add(this);
  }

  async poll(idleMs: number): Promise<DecodedBatch<T>> {
    const { records, positions } = await this.#reader.poll(idleMs);
    const items: T[] = [];
    for (const record of records) {
      const decoded = this.#options.decode(record);
      if (decoded === undefined) this.#options.skipped(record);
      else for (const item of decoded) items.push(item);
    }
    return { items, positions };
  }

  commit(positions: readonly StreamPosition[]): Promise<void> {
    return this.#reader.commit(positions);
  }

  async close(): Promise<void> {
    this.#open.delete(this);
    await this.#reader.close();
  }
}
