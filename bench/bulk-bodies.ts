import { LIKE, postId, userId, type Workload } from './workload.ts';

/**
 * The JSON bodies of POST /v1/events for events [from, to) of a workload, `batch` events each,
 * serialized before the clock starts so the load generator only sends bytes.
 */
export function bulkBodies(workload: Workload, prefix: string, batch: number, from = 0, to = workload.post.length): Buffer[] {
  const bodies: Buffer[] = [];
  for (let start = from; start < to; start += batch) {
    const end = Math.min(to, start + batch);
    const parts: string[] = [];
    for (let i = start; i < end; i++) {
      const op = workload.op[i] === LIKE ? 'like' : 'unlike';
      parts.push(`{"op":"${op}","postId":"${postId(prefix, workload.post[i] as number)}","userId":"${userId(workload.user[i] as number)}"}`);
    }
    bodies.push(Buffer.from(`{"events":[${parts.join(',')}]}`));
  }
  return bodies;
}
