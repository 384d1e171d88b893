import type { VersionedCount } from '../../ports/counter-store.ts';
import { countEvent, type CountChange } from './count-change.ts';

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
}

/** `slow`: the client fell behind; `gone`: the client left; `shutdown`: the server stops. */
export type CloseReason = 'slow' | 'gone' | 'shutdown';

/**
 * One live stream of counts (one SSE response). Changes are coalesced: the hub flushes the
 * stream at most once per interval (see {@link CountStream.dueIn}), and a flush sends each
 * changed post's newest count once, in the order the hub numbered the changes, each event with
 * the id up to which the client then has everything. A version already sent is never sent
 * again, nor an older one. The stream keeps no timer: the hub's flush tick serves every stream.
 */
export class CountStream {
  readonly posts: readonly string[];
  readonly #sink: StreamSink;
  readonly #options: CountStreamOptions;
  readonly #events: CountStreamEvents;
  readonly #epoch: string;
  readonly #sent = new Map<string, number>();
  readonly #pending = new Map<string, CountChange>();
  #ready = false;
  #closed = false;
  /** performance.now() of the last write of events (the opening values included). */
  #lastFlush = Number.NEGATIVE_INFINITY;

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

  /** True when the stream is open and holds changes to send: the hub then keeps it in its dirty set. */
  get dirty(): boolean {
    return this.#ready && !this.#closed && this.#pending.size > 0;
  }

  /** A change numbered by the hub; true when the stream has something to send (see {@link dirty}). */
  offer(change: CountChange): boolean {
    const { postId, version } = change.count;
    if (this.#closed || version <= (this.#sent.get(postId) ?? -1)) return false;
    const pending = this.#pending.get(postId);
    if (pending === undefined || pending.count.version < version) this.#pending.set(postId, change);
    return this.#ready;
  }

  /** Milliseconds from `now` (performance.now()) until the stream may flush again; 0 or less: now. */
  dueIn(now: number): number {
    return this.#lastFlush + this.#options.intervalMs - now;
  }

  /**
   * Sends the opening values: `counts`, each replaced by a newer change offered meanwhile, and
   * any other change offered meanwhile that is newer than what the client has (`known`). So the
   * opening covers every change numbered up to `upTo` for the stream's posts. `resumedFrom` is
   * the id the client already holds (`0` if none): it goes on every event but the last, which
   * carries `upTo`, so a stream cut in the middle of them resumes from where it started. Returns
   * the events written.
   */
  open(counts: readonly VersionedCount[], known: ReadonlyMap<string, number>, resumedFrom: string, upTo: number, now: number): number {
    if (this.#closed) return 0;
    for (const [postId, version] of known) this.#sent.set(postId, version);
    const opening = new Map(counts.map((count) => [count.postId, count]));
    for (const [postId, change] of this.#pending) {
      const have = opening.get(postId)?.version ?? this.#sent.get(postId) ?? -1;
      if (change.count.version > have) opening.set(postId, change.count);
    }
    this.#pending.clear();
    let text = 'retry: 1000\n\n';
    let i = 0;
    for (const count of opening.values()) {
      this.#sent.set(count.postId, count.version);
      text += countEvent(count, ++i === opening.size ? `${this.#epoch}.${upTo}` : resumedFrom);
    }
    if (opening.size === 0) text += `: resumed at ${this.#epoch}.${upTo}\n\n`;
    this.#ready = true;
    this.#lastFlush = now;
    this.#write(text);
    return opening.size;
  }

  /** Sends the pending changes (the hub calls it once {@link dueIn} is over); returns the events written. */
  flush(now: number): number {
    if (this.#closed || this.#pending.size === 0) return 0;
    this.#lastFlush = now;
    let text = '';
    let sent = 0;
    const send = (change: CountChange): void => {
      const { postId, version } = change.count;
      if (version <= (this.#sent.get(postId) ?? -1)) return;
      this.#sent.set(postId, version);
      text += change.text;
      sent++;
    };
    if (this.#pending.size === 1) for (const change of this.#pending.values()) send(change);
    else for (const change of [...this.#pending.values()].sort((a, b) => a.seq - b.seq)) send(change);
    this.#pending.clear();
    if (sent > 0) this.#write(text);
    return sent;
  }

  /** A comment line, so proxies see traffic on an idle stream. */
  heartbeat(): void {
    if (this.#ready && !this.#closed) this.#write(': heartbeat\n\n');
  }

  /** Ends the stream: drops a slow client's connection, ends the response on shutdown. */
  close(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.clear();
    if (reason === 'slow') this.#sink.destroy();
    else if (reason === 'shutdown') this.#sink.end();
    this.#events.onClosed(this, reason);
  }

  #write(text: string): void {
    this.#sink.write(text);
    if (this.#sink.buffered > this.#options.maxBufferedBytes) this.close('slow');
  }
}
