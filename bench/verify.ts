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
  const mismatches: Mismatch[] = [];
  const chunks = Math.ceil(expectations.length / chunk);
  await runOrdered({
    count: chunks,
    concurrency: 8,
    window: chunks + 1,
    task: async (c) => {
      const part = expectations.slice(c * chunk, (c + 1) * chunk);
      const answer = await http.expectOk('GET', `/v1/counts?posts=${part.map((e) => e.postId).join(',')}`);
      const counts = (JSON.parse(answer.text) as { counts: Record<string, number> }).counts;
      for (const e of part) if (counts[e.postId] !== e.count) mismatches.push({ ...e, actual: counts[e.postId] });
    },
  });
  return mismatches;
}
