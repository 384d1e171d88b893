import type { BenchHttp } from './http-client.ts';
import { runOrdered } from './ordered-runner.ts';
import { postId, type Workload, expectedCounts } from './workload.ts';

/** A post and the count it must have. */
export interface Expectation {
  readonly postId: string;
  readonly count: number;
}

/** A post whose count differs from the expected one. */
export interface Mismatch extends Expectation {
  readonly actual: number | undefined;
}

/** Expectations for the first `length` events of a workload replayed under `prefix`. */
export function workloadExpectations(workload: Workload, prefix: string, length = workload.post.length): Expectation[] {
  return [...expectedCounts(workload, length)].map(([post, count]) => ({ postId: postId(prefix, post), count }));
}

/** Reads every expected post through GET /v1/counts, `chunk` posts per call, and returns the differences. */
export async function verifyCounts(http: BenchHttp, expectations: readonly Expectation[], chunk = 500): Promise<Mismatch[]> {
  const counts = await readCounts(http, expectations.map((e) => e.postId), chunk);
  return expectations.filter((e) => counts.get(e.postId) !== e.count).map((e) => ({ ...e, actual: counts.get(e.postId) }));
}

/** The counts of `postIds` through GET /v1/counts, `chunk` posts per call, 8 calls in flight. */
export async function readCounts(http: BenchHttp, postIds: readonly string[], chunk = 500): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const chunks = Math.ceil(postIds.length / chunk);
  await runOrdered({
    count: chunks,
    concurrency: 8,
    window: chunks + 1,
    task: async (c) => {
      const part = postIds.slice(c * chunk, (c + 1) * chunk);
      const answer = await http.expectOk('GET', `/v1/counts?posts=${part.join(',')}`);
      const read = (JSON.parse(answer.text) as { counts: Record<string, number> }).counts;
      for (const id of part) if (read[id] !== undefined) counts.set(id, read[id]);
    },
  });
  return counts;
}
