import type { LikeEvent } from '../../domain/like-event.ts';
import type { Logger } from '../../observability/logger.ts';
import type { LikedPairsSource } from '../../ports/liked-pairs-source.ts';

export interface LikedPairsFilterDeps {
  /** The likes store's pairs (read once, at start). */
  readonly source: LikedPairsSource;
  /** Resolves once every like appended to the log before the call has its row in the likes store. */
  readonly caughtUp: () => Promise<void>;
  readonly log: Logger;
  /** Set to 1 once loaded, 0 before. */
  readonly gauge?: { set(value: number): void };
}

export interface LikedPairsFilterOptions {
  /** Pairs the first layer holds; each further layer holds twice the one before. Default 1,048,576. */
  readonly firstLayerPairs?: number;
}

/** Pairs per scan page: one page is one short statement between requests. */
const SCAN_PAGE = 5000;
/** False-positive rate of the first layer; each further layer halves it, so the sum stays under 2×. */
const FIRST_LAYER_RATE = 0.005;

/**
 * The viewer's liked flags without a lookup for the pairs that were never liked: a scalable Bloom
 * filter of every (post, user) pair that was ever liked. It never forgets a pair (an unlike or an
 * erasure leaves it: a false positive only costs the exact lookup), so "not in the filter" means
 * "not liked", exactly. It learns every like as the log accepts it (before its 202), and, at
 * start, every pair in the likes store once the pipeline has applied what the log held then; until
 * then it is not ready and every pair is a candidate. One process's filter is exact only when every
 * like passes through that process: the embedded mode.
 */
export class LikedPairsFilter {
  readonly #deps: LikedPairsFilterDeps;
  readonly #layers: BloomLayer[];
  #ready = false;
  #stopped = false;

  constructor(deps: LikedPairsFilterDeps, options: LikedPairsFilterOptions = {}) {
    this.#deps = deps;
    this.#layers = [new BloomLayer(options.firstLayerPairs ?? 1 << 20, FIRST_LAYER_RATE)];
    deps.gauge?.set(0);
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Learns the likes among durable events (call it for every append, from the start). */
  accepted(events: readonly LikeEvent[]): void {
    for (const event of events) if (event.op === 'like') this.#add(event.postId, event.userId);
  }

  /** Of `postIds`, those the user may have liked: all of them until the filter is ready. */
  candidates(userId: string, postIds: readonly string[]): readonly string[] {
    if (!this.#ready) return postIds;
    // The user's hashes once for the whole list, not once per post.
    idHashes(userId);
    const ua = scratch[0] as number;
    const ub = scratch[1] as number;
    return postIds.filter((postId) => {
      idHashes(postId);
      return this.#mayContain(pairA(scratch[0] as number, ua), pairB(scratch[1] as number, ub));
    });
  }

  /** Loads the store's pairs in the background; the filter is ready once they are in. */
  start(): void {
    void this.#load().catch((error: unknown) => {
      this.#deps.log.warn({ err: error }, 'liked-pairs filter: loading the likes store failed; viewer flags keep reading the store for every post');
    });
  }

  stop(): void {
    this.#stopped = true;
  }

  async #load(): Promise<void> {
    const started = Date.now();
    await this.#deps.caughtUp();
    let after: string | undefined;
    let pairs = 0;
    do {
      if (this.#stopped) return;
      const page = await this.#deps.source.pairsAfter(after, SCAN_PAGE);
      for (const [postId, userId] of page.pairs) this.#add(postId, userId);
      pairs += page.pairs.length;
      after = page.next;
      // Requests go on between pages.
      await new Promise((resolve) => setImmediate(resolve));
    } while (after !== undefined);
    this.#ready = true;
    this.#deps.gauge?.set(1);
    this.#deps.log.info({ pairs, layers: this.#layers.length, ms: Date.now() - started }, 'liked-pairs filter ready: viewer flags look up only the pairs it may hold');
  }

  #add(postId: string, userId: string): void {
    let layer = this.#layers.at(-1) as BloomLayer;
    if (layer.full) {
      layer = new BloomLayer(layer.capacity * 2, layer.rate / 2);
      this.#layers.push(layer);
    }
    idHashes(postId);
    const pa = scratch[0] as number;
    const pb = scratch[1] as number;
    idHashes(userId);
    layer.add(pairA(pa, scratch[0] as number), pairB(pb, scratch[1] as number));
  }

  #mayContain(h1: number, h2: number): boolean {
    for (const layer of this.#layers) if (layer.has(h1, h2)) return true;
    return false;
  }
}

/** One fixed-size Bloom filter: `k` probes by double hashing into `bits` bits. */
class BloomLayer {
  readonly capacity: number;
  readonly rate: number;
  size = 0;
  readonly #words: Uint32Array;
  readonly #bits: number;
  readonly #k: number;

  constructor(capacity: number, rate: number) {
    this.capacity = capacity;
    this.rate = rate;
    // The optimal size and probe count for `capacity` items at `rate`.
    this.#bits = Math.ceil((-capacity * Math.log(rate)) / (Math.LN2 * Math.LN2));
    this.#k = Math.max(1, Math.round((this.#bits / capacity) * Math.LN2));
    this.#words = new Uint32Array(Math.ceil(this.#bits / 32));
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  add(h1: number, h2: number): void {
    for (let i = 0; i < this.#k; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const at = bit % this.#bits;
      this.#words[at >>> 5] = (this.#words[at >>> 5] as number) | (1 << (at & 31));
    }
    this.size++;
  }

  has(h1: number, h2: number): boolean {
    for (let i = 0; i < this.#k; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const at = bit % this.#bits;
      if (((this.#words[at >>> 5] as number) & (1 << (at & 31))) === 0) return false;
    }
    return true;
  }
}

/** Where `idHashes` leaves its two hashes (no array per call on the read path). */
const scratch = new Uint32Array(2);

/** Two independent 32-bit hashes of one id (FNV-1a, and a multiply-xorshift mix of the same code units), into `scratch`. */
function idHashes(id: string): void {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  scratch[0] = a;
  scratch[1] = b;
}

/** MurmurHash3's finalizer: every input bit moves every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The pair's two probe hashes from its ids' hashes: the post's and the user's are combined
 * asymmetrically (the user's multiplied first), so (p, u) and (u, p) differ, then finalized.
 */
function pairA(post: number, user: number): number {
  return fmix32(post ^ Math.imul(user, 0x9e3779b1));
}

/** The probe step: the other pair of hashes, combined another way; odd, so the probes differ. */
function pairB(post: number, user: number): number {
  return (fmix32((post + Math.imul(user, 0x27d4eb2f)) | 0) | 1) >>> 0;
}
