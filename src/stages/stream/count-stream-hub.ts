import { randomBytes } from 'node:crypto';
import { TallyError } from '../../domain/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { CountListener, CountNotifier, CountSubscription } from '../../ports/count-notifier.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';
import { ChangeSequence } from './change-sequence.ts';
import { CountChange } from './count-change.ts';
import { CountStream, type CloseReason, type StreamSink } from './count-stream.ts';
import { NOTHING_SEEN, formatEventId, parseEventId } from './event-id.ts';
import type { LiveMetrics } from '../../observability/live-metrics.ts';

export interface CountStreamHubOptions {
  /** At most one event per post per stream in this many ms (`--stream-interval-ms`). */
  readonly intervalMs: number;
  /** A comment on every stream this often (`--stream-heartbeat-ms`). */
  readonly heartbeatMs: number;
  /** Streams this process serves at once (`--max-streams`). */
  readonly maxStreams: number;
  /** A client leaving more unread is dropped (`--stream-buffer-bytes`). */
  readonly maxBufferedBytes: number;
  /** Posts whose latest change number is remembered for resumes; default 100,000. */
  readonly rememberedPosts?: number;
}

export interface CountStreamHubDeps {
  readonly notifier: CountNotifier;
  /** Current counts with versions (a post never liked: count 0, version 0). */
  readonly snapshot: (postIds: readonly string[]) => Promise<Map<string, VersionedCount>>;
  readonly metrics: LiveMetrics;
  readonly log: Logger;
}

/**
 * The live streams of one api process: subscribes once to the count notifier, numbers every
 * change it hears (see `event-id.ts`), and hands each to the streams watching that post. A
 * stream opens with the current values (only those changed since its `Last-Event-ID` when it
 * resumes on this process); after a notifier resync every stream gets the current values again.
 *
 * One flush timer serves every stream: a stream holding changes is in the dirty set, and the
 * timer fires when the earliest of them may flush (one interval after its last flush), flushing
 * every dirty stream that is due. Streams kept busy thus flush together, once per interval, on one
 * timer; each change's event text is built once and shared by the streams that send it.
 */
export class CountStreamHub implements CountListener {
  readonly #deps: CountStreamHubDeps;
  readonly #options: CountStreamHubOptions;
  readonly #epoch = randomBytes(6).readUIntBE(0, 6).toString(36);
  readonly #sequence: ChangeSequence;
  readonly #watchers = new Map<string, Set<CountStream>>();
  readonly #streams = new Set<CountStream>();
  readonly #dirty = new Set<CountStream>();
  #flushTimer: NodeJS.Timeout | undefined;
  /** performance.now() at which the flush timer fires. */
  #flushAt = Number.POSITIVE_INFINITY;
  #opening = 0;
  #subscription: CountSubscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(deps: CountStreamHubDeps, options: CountStreamHubOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#sequence = new ChangeSequence(options.rememberedPosts ?? 100_000);
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  start(): void {
    this.#subscription ??= this.#deps.notifier.subscribe(this);
    this.#heartbeat ??= setInterval(() => {
      for (const stream of this.#streams) stream.heartbeat();
    }, this.#options.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Ends every stream and stops listening. */
  stop(): void {
    this.#subscription?.close();
    this.#subscription = undefined;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#disarm();
    for (const stream of [...this.#streams]) stream.close('shutdown');
  }

  /**
   * Opens a stream of these posts, resuming after `lastEventId` when given. Throws a retriable
   * `too_many_streams` past `maxStreams`. The caller closes the stream when the client goes.
   */
  async open(postIds: readonly string[], lastEventId: string | undefined, sink: StreamSink): Promise<CountStream> {
    if (this.#streams.size + this.#opening >= this.#options.maxStreams) {
      this.#deps.metrics.refused.inc();
      throw new TallyError('too_many_streams', `this api process serves ${this.#options.maxStreams} live streams already (--max-streams); retry later or on another api process`, { retriable: true });
    }
    const stream = new CountStream(postIds, this.#epoch, sink, this.#options, {
      onClosed: (closed, reason) => this.#remove(closed, reason),
    });
    // Watching before reading the snapshot: a change arriving meanwhile is offered to the stream.
    this.#streams.add(stream);
    for (const postId of postIds) {
      let set = this.#watchers.get(postId);
      if (set === undefined) this.#watchers.set(postId, (set = new Set()));
      set.add(stream);
    }
    this.#deps.metrics.open.set(this.#streams.size);
    this.#opening++;
    try {
      const current = await this.#deps.snapshot(postIds);
      this.#reconcile(postIds, current);
      // Every change numbered so far is in the snapshot or was offered to the stream meanwhile,
      // which sends those with its opening values: its last opening id can be `upTo`.
      const upTo = this.#sequence.current;
      const mark = parseEventId(lastEventId);
      const resumes = mark !== undefined && mark.epoch === this.#epoch && mark.seq <= upTo;
      const send: VersionedCount[] = [];
      const known = new Map<string, number>();
      for (const postId of postIds) {
        if (resumes && !this.#sequence.changedAfter(postId, mark.seq)) {
          // The client holds the post's newest numbered count. Of a post not remembered it holds
          // an unknown one, and the snapshot may be ahead of it (a count not numbered yet): nothing
          // is taken as sent, so the count's notice reaches the client when it comes.
          const numbered = this.#sequence.latest(postId);
          if (numbered !== undefined) known.set(postId, numbered.count.version);
        } else send.push(current.get(postId) ?? { postId, count: 0, version: 0 });
      }
      const sent = stream.open(send, known, resumes ? formatEventId(mark) : NOTHING_SEEN, upTo, performance.now());
      if (sent > 0) this.#deps.metrics.events.inc(sent);
    } catch (error) {
      stream.close('gone');
      throw error;
    } finally {
      this.#opening--;
    }
    return stream;
  }

  changed(counts: readonly VersionedCount[]): void {
    let now: number | undefined;
    for (const count of counts) {
      const seq = this.#sequence.next(count);
      const watchers = this.#watchers.get(count.postId);
      if (watchers === undefined) continue;
      let change: CountChange;
      if (seq !== undefined) change = new CountChange(count, seq, this.#epoch);
      else {
        // That version or a newer one was numbered already (an opening snapshot read it first).
        // The post's newest numbered count is offered again, under its own number: a stream that
        // opened since and read an older count (from a cache behind the store), with the post
        // forgotten before its squaring, gets it now. A stream that has it drops it.
        const latest = this.#sequence.latest(count.postId);
        if (latest === undefined) continue;
        change = new CountChange(latest.count, latest.seq, this.#epoch);
      }
      for (const stream of watchers) {
        if (stream.offer(change) && !this.#dirty.has(stream)) this.#markDirty(stream, (now ??= performance.now()));
      }
    }
  }

  /**
   * Squares an opening snapshot with the changes numbered so far. A snapshot can be ahead of
   * them: the store commits a batch before its counts reach this hub, and a snapshot read in
   * between has counts never numbered, which a later number would then put after the stream's
   * opening id (a resume from that id would take the post as changed). Those are numbered now
   * and offered to every stream watching the post, as if their notice had come. A snapshot can
   * also be behind them (a cache that has not taken a count that some earlier snapshot read
   * from the store and numbered): the numbered count replaces it, since the opening id covers it.
   *
   * A post the sequence does not remember is numbered only while it has never forgotten one:
   * then the post was never numbered, and its snapshot cannot be behind. Once posts have been
   * forgotten, the snapshot of an unremembered post may be behind a count numbered and forgotten
   * meanwhile, and numbering it would put an older count after a newer one's number. It is sent
   * unnumbered, as before this squaring: its notice numbers it later, and a resume from the
   * opening id then resends it, which is harmless.
   */
  #reconcile(postIds: readonly string[], current: Map<string, VersionedCount>): void {
    let ahead: VersionedCount[] | undefined;
    for (const postId of postIds) {
      const count = current.get(postId);
      const numbered = this.#sequence.latest(postId)?.count;
      if (numbered === undefined) {
        if (count !== undefined && count.version > 0 && !this.#sequence.forgot) (ahead ??= []).push(count);
      } else if (count === undefined || numbered.version > count.version) current.set(postId, numbered);
      else if (count.version > numbered.version) (ahead ??= []).push(count);
    }
    if (ahead !== undefined) this.changed(ahead);
  }

  resync(): void {
    this.#sequence.forgetAll();
    const watched = [...this.#watchers.keys()];
    if (watched.length === 0) return;
    this.#deps.snapshot(watched).then(
      (current) => this.changed([...current.values()]),
      (error: unknown) => this.#deps.log.warn({ err: error }, 'live streams: reading current counts after a resync failed'),
    );
  }

  /** Adds a stream holding changes to the dirty set; the flush timer fires by the time it is due. */
  #markDirty(stream: CountStream, now: number): void {
    this.#dirty.add(stream);
    const at = now + Math.max(0, stream.dueIn(now));
    // A timer already set to fire by then (within a millisecond) will flush it too.
    if (at < this.#flushAt - 1) this.#arm(at, now);
  }

  #arm(at: number, now: number): void {
    clearTimeout(this.#flushTimer);
    this.#flushAt = at;
    this.#flushTimer = setTimeout(() => this.#flushDue(), Math.max(0, Math.ceil(at - now)));
  }

  #disarm(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#flushAt = Number.POSITIVE_INFINITY;
  }

  /** Flushes every dirty stream that is due; the timer is set again for the earliest one left. */
  #flushDue(): void {
    this.#flushTimer = undefined;
    this.#flushAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    let events = 0;
    for (const stream of this.#dirty) {
      const wait = stream.dueIn(now);
      if (wait > 0) {
        // A timer fires on the event loop's cached clock, up to a few ms early by this one.
        next = Math.min(next, wait);
        continue;
      }
      this.#dirty.delete(stream);
      events += stream.flush(now);
    }
    if (events > 0) this.#deps.metrics.events.inc(events);
    if (this.#dirty.size > 0) this.#arm(now + Math.max(1, next), now);
  }

  #remove(stream: CountStream, reason: CloseReason): void {
    this.#dirty.delete(stream);
    if (!this.#streams.delete(stream)) return;
    for (const postId of stream.posts) {
      const set = this.#watchers.get(postId);
      set?.delete(stream);
      if (set?.size === 0) this.#watchers.delete(postId);
    }
    if (reason === 'slow') {
      this.#deps.metrics.dropped.inc();
      this.#deps.log.info({ posts: stream.posts.length }, 'live streams: dropped a client that fell behind');
    }
    this.#deps.metrics.open.set(this.#streams.size);
  }
}
