import type { VersionedCount } from '../../ports/counter-store.ts';

/** Where a stream's text goes: the HTTP response, in production. */
export interface StreamSink {
  write(text: string): void;
  /** Bytes written and not yet taken by the client. */
  readonly buffered: number;
  /** Ends the connection at once. */
  destroy(): void;
  /** Ends the response normally. */
  end(): void;
}

export interface CountStreamOptions {
  /** At most one event per post in this many ms. */
  readonly intervalMs: number;
  /** A client that leaves more than this many bytes unread is dropped. */
  readonly maxBufferedBytes: number;
}

export interface CountStreamEvents {
  /** Called once the stream is dropped (`slow`: it fell behind) or ended. */
  readonly onClosed: (stream: CountStream, reason: CloseReason) => void;
  readonly onSent: (events: number) => void;
}

/** `slow`: the client fell behind; `gone`: the client left; `shutdown`: the server stops. */
export type CloseReason = 'slow' | 'gone' | 'shutdown';

interface Pending {
  readonly count: VersionedCount;
  readonly seq: number;
}

/**
 * One live stream of counts (one SSE response). Changes are coalesced: the stream flushes at
 * most once per interval, sending each changed post's newest count once, in the order the hub
 * numbered the changes, each event with the id up to which the client then has everything. A
 * version already sent is never sent again, nor an older one.
 */
export class CountStream {
  readonly posts: readonly string[];
  readonly #sink: StreamSink;
  readonly #options: CountStreamOptions;
  readonly #events: CountStreamEvents;
  readonly #epoch: string;
  readonly #sent = new Map<string, number>();
  readonly #pending = new Map<string, Pending>();
  #ready = false;
  #closed = false;
  #lastFlush = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;

  constructor(posts: readonly string[], epoch: string, sink: StreamSink, options: CountStreamOptions, events: CountStreamEvents) {
    this.posts = posts;
    this.#epoch = epoch;
    this.#sink = sink;
    this.#options = options;
    this.#events = events;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A change numbered `seq` by the hub. */
  offer(count: VersionedCount, seq: number): void {
    if (this.#closed || count.version <= (this.#sent.get(count.postId) ?? -1)) return;
    const pending = this.#pending.get(count.postId);
    if (pending === undefined || pending.count.version < count.version) this.#pending.set(count.postId, { count, seq });
    this.#schedule();
  }

  /**
   * Sends the opening values. `resumedFrom` is the id the client already holds (`0` if none): it
   * goes on every event but the last, which carries `upTo`, so a stream cut in the middle of them
   * resumes from where it started.
   */
  open(counts: readonly VersionedCount[], known: ReadonlyMap<string, number>, resumedFrom: string, upTo: number): void {
    if (this.#closed) return;
    for (const [postId, version] of known) this.#sent.set(postId, version);
    let text = 'retry: 1000\n\n';
    counts.forEach((count, i) => {
      this.#sent.set(count.postId, count.version);
      text += event(count, i === counts.length - 1 ? `${this.#epoch}.${upTo}` : resumedFrom);
    });
    if (counts.length === 0) text += `: resumed at ${this.#epoch}.${upTo}\n\n`;
    this.#ready = true;
    this.#lastFlush = Date.now();
    this.#write(text, counts.length);
    this.#schedule();
  }

  /** A comment line, so proxies see traffic on an idle stream. */
  heartbeat(): void {
    if (this.#ready && !this.#closed) this.#write(': heartbeat\n\n', 0);
  }

  /** Ends the stream: drops a slow client's connection, ends the response on shutdown. */
  close(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#pending.clear();
    if (reason === 'slow') this.#sink.destroy();
    else if (reason === 'shutdown') this.#sink.end();
    this.#events.onClosed(this, reason);
  }

  #schedule(): void {
    if (!this.#ready || this.#closed || this.#timer !== undefined || this.#pending.size === 0) return;
    const delay = Math.max(0, this.#lastFlush + this.#options.intervalMs - Date.now());
    this.#timer = setTimeout(() => this.#flush(), delay);
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#lastFlush = Date.now();
    const due = [...this.#pending.values()].sort((a, b) => a.seq - b.seq);
    this.#pending.clear();
    let text = '';
    let sent = 0;
    for (const { count, seq } of due) {
      if (count.version <= (this.#sent.get(count.postId) ?? -1)) continue;
      this.#sent.set(count.postId, count.version);
      text += event(count, `${this.#epoch}.${seq}`);
      sent++;
    }
    if (sent > 0) this.#write(text, sent);
  }

  #write(text: string, events: number): void {
    this.#sink.write(text);
    if (events > 0) this.#events.onSent(events);
    if (this.#sink.buffered > this.#options.maxBufferedBytes) this.close('slow');
  }
}

function event(count: VersionedCount, id: string): string {
  return `event: count\nid: ${id}\ndata: {"postId":"${count.postId}","count":${count.count}}\n\n`;
}
