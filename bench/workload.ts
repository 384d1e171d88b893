import { mulberry32, randomInt } from './prng.ts';
import { ZipfSampler } from './zipf.ts';

/** What to generate; the same spec always gives the same events. */
export interface WorkloadSpec {
  readonly events: number;
  readonly posts: number;
  readonly users: number;
  /** Zipf exponent of post popularity. */
  readonly zipf: number;
  /** Share of likes that go to the single hot post (post 0); 0 for none. */
  readonly hotShare: number;
  /** Share of events that unlike an earlier like. */
  readonly unlikeShare: number;
  readonly seed: number;
  /**
   * Two events of one (post, user) are at least this many events apart. The load generator keeps
   * at most this many events unordered (in flight at once), so the order the server sees for one
   * (post, user) is the generator's order and the expected counts hold.
   */
  readonly minGap: number;
}

/** Operation codes in {@link Workload.op}. */
export const LIKE = 1;
export const UNLIKE = 0;

/** A generated workload: event i is (op[i], post[i], user[i]); delta[i] is its effect on the count. */
export interface Workload {
  readonly spec: WorkloadSpec;
  readonly post: Int32Array;
  readonly user: Int32Array;
  readonly op: Uint8Array;
  /** +1 (new like), -1 (unlike of a liked pair) or 0 (like of an already liked pair). */
  readonly delta: Int8Array;
  readonly likes: number;
  readonly unlikes: number;
}

const TRIES = 64;

/**
 * Generates the events. The model is the set of liked (post, user) pairs: a like adds its pair
 * (a no-op when present), an unlike removes a pair picked at random among the liked ones, so every
 * unlike targets an earlier like. Users are drawn uniformly from `users`, posts from Zipf(s).
 */
export function generateWorkload(spec: WorkloadSpec): Workload {
  const { events: n, posts, users, minGap } = spec;
  if (posts * users > Number.MAX_SAFE_INTEGER) throw new RangeError('posts × users is too large');
  const random = mulberry32(spec.seed);
  const hot = spec.hotShare > 0 && posts > 1;
  const zipf = new ZipfSampler(hot ? posts - 1 : posts, spec.zipf);
  const post = new Int32Array(n);
  const user = new Int32Array(n);
  const op = new Uint8Array(n);
  const delta = new Int8Array(n);
  const last = new ShardedMap();
  const liked: number[] = [];
  const likedAt = new ShardedMap();
  let unlikes = 0;

  const drawPost = (): number => (hot ? (random() < spec.hotShare ? 0 : zipf.sample(random) + 1) : zipf.sample(random));
  const settled = (key: number, i: number): boolean => {
    const at = last.get(key);
    return at === undefined || at <= i - minGap;
  };

  for (let i = 0; i < n; i++) {
    let key = -1;
    if (liked.length > 0 && random() < spec.unlikeShare) {
      for (let t = 0; t < 8 && key < 0; t++) {
        const candidate = liked[randomInt(random, liked.length)] as number;
        if (settled(candidate, i)) key = candidate;
      }
    }
    if (key >= 0) {
      const at = likedAt.get(key) as number;
      const moved = liked.pop() as number;
      if (moved !== key) {
        liked[at] = moved;
        likedAt.set(moved, at);
      }
      likedAt.delete(key);
      op[i] = UNLIKE;
      delta[i] = -1;
      unlikes++;
    } else {
      for (let t = 0; t < TRIES && key < 0; t++) {
        const candidate = drawPost() * users + randomInt(random, users);
        if (settled(candidate, i)) key = candidate;
      }
      if (key < 0) throw new RangeError(`cannot keep one (post, user) ${minGap} events apart with ${users} users; raise --users or lower --batch/--concurrency`);
      op[i] = LIKE;
      if (likedAt.has(key)) {
        delta[i] = 0;
      } else {
        delta[i] = 1;
        likedAt.set(key, liked.length);
        liked.push(key);
      }
    }
    last.set(key, i);
    post[i] = Math.floor(key / users);
    user[i] = key % users;
  }
  return { spec, post, user, op, delta, likes: n - unlikes, unlikes };
}

/**
 * A number → number map over several Maps: one V8 Map holds at most 2^24 entries, and a workload of
 * tens of millions of events has that many distinct (post, user) pairs.
 */
class ShardedMap {
  readonly #shards = Array.from({ length: 8 }, () => new Map<number, number>());

  #of(key: number): Map<number, number> {
    return this.#shards[key % 8] as Map<number, number>;
  }

  get(key: number): number | undefined {
    return this.#of(key).get(key);
  }

  has(key: number): boolean {
    return this.#of(key).has(key);
  }

  set(key: number, value: number): void {
    this.#of(key).set(key, value);
  }

  delete(key: number): void {
    this.#of(key).delete(key);
  }
}

/** The exact count of every post touched by the first `length` events (zero counts included). */
export function expectedCounts(workload: Workload, length = workload.post.length): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < length; i++) {
    const p = workload.post[i] as number;
    counts.set(p, (counts.get(p) ?? 0) + (workload.delta[i] as number));
  }
  return counts;
}

/** Number of events among the first `length` that really change a count (what the counter applies). */
export function effectiveChanges(workload: Workload, length = workload.post.length): number {
  let changes = 0;
  for (let i = 0; i < length; i++) if (workload.delta[i] !== 0) changes++;
  return changes;
}

/** Post id of post index `index` under `prefix` (phases use different prefixes so they never share a post). */
export function postId(prefix: string, index: number): string {
  return `${prefix}${index}`;
}

/** User id of user index `index`. */
export function userId(index: number): string {
  return `u${index}`;
}
