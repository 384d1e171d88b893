import { forgetOldest, tenthOf } from '../../domain/bounded-map.ts';

/** Loads the counts of some posts (a post never liked counts 0). */
export type CountLoader = (postIds: readonly string[]) => Promise<Map<string, number>>;

export interface NearCacheOptions {
  /** How long a loaded count may be served, in ms, counted from when its load started. */
  readonly boundMs: number;
  /** Most counts kept; beyond it the tenth cached first is forgotten. */
  readonly maxEntries: number;
  /** Monotonic milliseconds (tests pass their own). */
  readonly clock?: () => number;
}

interface Entry {
  readonly count: number;
  /** When the load that read it started: the value is at most `clock() - at` old. */
  readonly at: number;
}

interface Flight {
  readonly at: number;
  /** Read from the source of truth (after an applied write), not through the shared cache. */
  readonly fresh: boolean;
  readonly result: Promise<Map<string, number>>;
}

/** A floor older than this is dropped: by then the shared cache holds the write (or a newer count). */
const FLOOR_KEEP_MS = 5_000;

/**
 * The api's near cache of counts, in front of the shared cache: a count read less than `boundMs`
 * ago is served from memory, and concurrent misses of one post join one load (single flight), so
 * any number of reads of one hot post cost at most one shared-cache read per post per bound in
 * this process. Never older than the bound; and once `written` says a write to a post was
 * applied, nothing loaded before that moment is served for it: the next read loads it fresh from
 * the source of truth (`loadFresh`), which is how `?wait=applied` keeps read-your-writes.
 */
export class NearCache {
  readonly #load: CountLoader;
  readonly #loadFresh: CountLoader;
  readonly #boundMs: number;
  readonly #maxEntries: number;
  readonly #clock: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #flights = new Map<string, Flight>();
  /** Post → when a write to it was applied: loads that started before are not served. */
  readonly #floors = new Map<string, number>();
  /** When a write to posts not named was applied (an erasure of a user): a floor for every post. */
  #floorAll: number | undefined;

  constructor(load: CountLoader, loadFresh: CountLoader, options: NearCacheOptions) {
    if (!(options.boundMs > 0)) throw new Error(`near cache: boundMs must be positive, got ${options.boundMs}`);
    this.#load = load;
    this.#loadFresh = loadFresh;
    this.#boundMs = options.boundMs;
    this.#maxEntries = Math.max(1, options.maxEntries);
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** Counts kept right now (tests, metrics). */
  get size(): number {
    return this.#entries.size;
  }

  async counts(postIds: readonly string[]): Promise<Map<string, number>> {
    const now = this.#clock();
    const result = new Map<string, number>();
    const joined: Promise<void>[] = [];
    const stale: string[] = [];
    const floored: string[] = [];
    for (const postId of postIds) {
      const floor = this.#floor(postId, now);
      const entry = this.#entries.get(postId);
      if (entry !== undefined && now - entry.at < this.#boundMs && (floor === undefined || entry.at > floor)) {
        result.set(postId, entry.count);
        continue;
      }
      const flight = this.#flights.get(postId);
      if (flight !== undefined && now - flight.at < this.#boundMs && (floor === undefined || (flight.fresh && flight.at > floor))) {
        joined.push(flight.result.then((counts) => void result.set(postId, counts.get(postId) ?? 0)));
        continue;
      }
      (floor === undefined ? stale : floored).push(postId);
    }
    if (stale.length > 0) joined.push(this.#fly(stale, false, result));
    if (floored.length > 0) joined.push(this.#fly(floored, true, result));
    if (joined.length > 0) await Promise.all(joined);
    // Every post asked is in `result` now: a hit, or set by the load it joined or started.
    return result;
  }

  /** A write to these posts has just been applied: from now on, serve only what is loaded after it. */
  written(postIds: Iterable<string>): void {
    const now = this.#clock();
    for (const postId of postIds) {
      this.#floors.delete(postId);
      this.#floors.set(postId, now);
    }
    this.#pruneFloors(now);
  }

  /** A write to any posts has just been applied (a user's erasure): nothing loaded before now is served. */
  writtenAll(): void {
    this.#floorAll = this.#clock();
  }

  #floor(postId: string, now: number): number | undefined {
    if (this.#floorAll !== undefined && now - this.#floorAll > FLOOR_KEEP_MS) this.#floorAll = undefined;
    const all = this.#floorAll;
    const own = this.#perPostFloor(postId, now);
    return all === undefined ? own : own === undefined ? all : Math.max(own, all);
  }

  #perPostFloor(postId: string, now: number): number | undefined {
    const floor = this.#floors.get(postId);
    if (floor !== undefined && now - floor > FLOOR_KEEP_MS) {
      this.#floors.delete(postId);
      return undefined;
    }
    return floor;
  }

  #pruneFloors(now: number): void {
    for (const [postId, at] of this.#floors) {
      if (now - at <= FLOOR_KEEP_MS && this.#floors.size <= this.#maxEntries) break;
      this.#floors.delete(postId);
    }
  }

  #fly(postIds: readonly string[], fresh: boolean, into: Map<string, number>): Promise<void> {
    const at = this.#clock();
    const result = (fresh ? this.#loadFresh : this.#load)(postIds);
    const flight: Flight = { at, fresh, result };
    for (const postId of postIds) this.#flights.set(postId, flight);
    return result.then(
      (counts) => {
        for (const postId of postIds) {
          const count = counts.get(postId) ?? 0;
          into.set(postId, count);
          if (this.#flights.get(postId) === flight) this.#flights.delete(postId);
          const floor = this.#floors.get(postId);
          if (fresh && floor !== undefined && floor < at) this.#floors.delete(postId);
          this.#remember(postId, { count, at });
        }
      },
      (error: unknown) => {
        for (const postId of postIds) if (this.#flights.get(postId) === flight) this.#flights.delete(postId);
        throw error;
      },
    );
  }

  #remember(postId: string, entry: Entry): void {
    const held = this.#entries.get(postId);
    if (held !== undefined) {
      // In place: moving the post to the back (delete, then set) cost about ten times as much per
      // read (BENCHMARKS "Bounded maps"), and an entry is served for at most `boundMs` anyway.
      if (held.at <= entry.at) this.#entries.set(postId, entry);
      return;
    }
    if (this.#entries.size >= this.#maxEntries) forgetOldest(this.#entries, tenthOf(this.#maxEntries));
    this.#entries.set(postId, entry);
  }
}
