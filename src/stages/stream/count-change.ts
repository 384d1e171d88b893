import type { VersionedCount } from '../../ports/counter-store.ts';

/**
 * One count change as the hub numbered it (`seq`, see `event-id.ts`), shared by every stream
 * watching its post. Its SSE event text is the same on each of them (the id is the hub's
 * sequence number, not the stream's), so it is built once, when the first stream sends it.
 */
export class CountChange {
  readonly count: VersionedCount;
  readonly seq: number;
  readonly #epoch: string;
  #text: string | undefined;

  constructor(count: VersionedCount, seq: number, epoch: string) {
    this.count = count;
    this.seq = seq;
    this.#epoch = epoch;
  }

  /** `event: count` with id `<epoch>.<seq>`. */
  get text(): string {
    this.#text ??= countEvent(this.count, `${this.#epoch}.${this.seq}`);
    return this.#text;
  }
}

/** The SSE text of one count event with this id. */
export function countEvent(count: VersionedCount, id: string): string {
  return `event: count\nid: ${id}\ndata: {"postId":"${count.postId}","count":${count.count}}\n\n`;
}
