import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { phaseProgress } from '../progress.ts';
import { runOrdered } from '../ordered-runner.ts';
import { expectedCounts, LIKE, postId, userId, type Workload } from '../workload.ts';
import type { BaselineResult } from './baseline-result.ts';

/** What most people build: a set of likers per post and a counter, changed together by one Lua script. */
const SCRIPT = `
if ARGV[1] == '1' then
  if redis.call('SADD', KEYS[1], ARGV[2]) == 1 then return redis.call('INCR', KEYS[2]) end
else
  if redis.call('SREM', KEYS[1], ARGV[2]) == 1 then return redis.call('DECR', KEYS[2]) end
end
return false
`;

const PIPELINE = 1000;
const IN_FLIGHT = 4;

/**
 * Replays the first `events` events into Redis: EVALSHA of the script per event, `PIPELINE`
 * commands per pipeline, a few pipelines in flight on one connection (which keeps their order).
 * Keys live under a unique prefix and are deleted afterwards.
 */
export async function redisLuaBaseline(url: string, workload: Workload, events: number, progress: boolean): Promise<BaselineResult> {
  const n = Math.min(events, workload.post.length);
  const ns = `bench_${randomBytes(4).toString('hex')}`;
  const likesKey = (post: number): string => `${ns}:likes:${postId('p', post)}`;
  const countKey = (post: number): string => `${ns}:count:${postId('p', post)}`;
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableAutoPipelining: false });
  await redis.connect();
  const posts = [...expectedCounts(workload, n)];
  try {
    const sha = (await redis.script('LOAD', SCRIPT)) as string;
    const chunks = Math.ceil(n / PIPELINE);
    const bar = phaseProgress(progress, 'baseline: Redis Lua', n, 'events');
    const start = performance.now();
    const client = process.cpuUsage();
    await runOrdered({
      count: chunks,
      concurrency: IN_FLIGHT,
      window: chunks + 1,
      task: async (c) => {
        const pipeline = redis.pipeline();
        const end = Math.min(n, (c + 1) * PIPELINE);
        for (let i = c * PIPELINE; i < end; i++) {
          const post = workload.post[i] as number;
          pipeline.evalsha(sha, 2, likesKey(post), countKey(post), workload.op[i] === LIKE ? '1' : '0', userId(workload.user[i] as number));
        }
        const replies = await pipeline.exec();
        const failed = replies?.find(([error]) => error !== null);
        if (failed !== undefined) throw failed[0] as Error;
        bar.update(end);
      },
    });
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(client);
    bar.stop();
    let wrong = 0;
    for (let i = 0; i < posts.length; i += 1000) {
      const part = posts.slice(i, i + 1000);
      const values = await redis.mget(...part.map(([post]) => countKey(post)));
      part.forEach(([, expected], j) => {
        if (Number(values[j] ?? 0) !== expected) wrong++;
      });
    }
    return {
      perSec: n / seconds,
      operations: n,
      seconds,
      correct: wrong === 0,
      clientCores: Math.round(((used.user + used.system) / 1e6 / seconds) * 100) / 100,
      note: `first ${n} events, EVALSHA (SADD+INCR / SREM+DECR) per event, pipelines of ${PIPELINE}, ${IN_FLIGHT} in flight, 1 connection`,
    };
  } finally {
    for (let i = 0; i < posts.length; i += 500) {
      const part = posts.slice(i, i + 500).flatMap(([post]) => [likesKey(post), countKey(post)]);
      await redis.unlink(...part).catch(() => undefined);
    }
    redis.disconnect();
  }
}
