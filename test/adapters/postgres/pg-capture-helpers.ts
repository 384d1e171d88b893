import type { CapturedBatch } from '../../../src/ports/change-capture.ts';
import type { ChangeCapture } from '../../../src/ports/change-capture.ts';
import type { Change } from '../../../src/domain/change.ts';

/** Captured changes with their sources, and the batches they came in (not yet acknowledged). */
export interface Drained {
  readonly changes: Change[];
  readonly sources: string[];
  readonly batches: CapturedBatch[];
}

/** Polls until `done` holds (or fails after `timeoutMs`), without acknowledging anything. */
export async function drain(capture: ChangeCapture, done: (changes: readonly Change[]) => boolean, options: { maxChanges?: number; timeoutMs?: number } = {}): Promise<Drained> {
  const out: Drained = { changes: [], sources: [], batches: [] };
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!done(out.changes)) {
    if (Date.now() > deadline) throw new Error(`capture: condition not met after ${out.changes.length} changes`);
    const batch = await capture.poll(options.maxChanges ?? 10_000, 100);
    if (batch.changes.length === 0) continue;
    out.changes.push(...batch.changes);
    out.sources.push(...batch.sources);
    out.batches.push(batch);
  }
  return out;
}

/** Acknowledges batches in order. */
export async function ackAll(batches: readonly CapturedBatch[]): Promise<void> {
  for (const batch of batches) await batch.ack();
}

export const describe = (c: Change): string => (c.kind === 'delta' ? `${c.delta > 0 ? '+' : '-'}${c.postId}/${c.userId}` : `=${c.postId}:${c.count}`);
