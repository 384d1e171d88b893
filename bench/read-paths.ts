import { mulberry32, randomInt } from './prng.ts';
import { ZipfSampler } from './zipf.ts';
import { postId } from './workload.ts';

/**
 * Paths of the read phases: `count` GET /v1/counts calls of `perCall` distinct posts each (a
 * timeline), posts drawn with the workload's popularity, and `count` single GET …/count paths.
 */
export function readPaths(options: { posts: number; zipf: number; perCall: number; prefix: string; seed: number; count: number }): { batch: string[]; single: string[] } {
  const random = mulberry32(options.seed ^ 0x5bd1e995);
  const zipf = new ZipfSampler(options.posts, options.zipf);
  const perCall = Math.min(options.perCall, options.posts);
  const batch: string[] = [];
  const single: string[] = [];
  for (let c = 0; c < options.count; c++) {
    const ids = new Set<number>();
    for (let tries = 0; ids.size < perCall; tries++) ids.add(tries < 20 * perCall ? zipf.sample(random) : randomInt(random, options.posts));
    batch.push(`/v1/counts?posts=${[...ids].map((p) => postId(options.prefix, p)).join(',')}`);
    single.push(`/v1/posts/${postId(options.prefix, zipf.sample(random))}/count`);
  }
  return { batch, single };
}
