import { setTimeout as sleep } from 'node:timers/promises';
import type { MetricsSampler } from './metrics-sampler.ts';
import type { Mismatch } from './verify.ts';

/** How {@link waitApplied} decides that every write is counted. */
export interface SettleOptions {
  readonly sampler: MetricsSampler;
  /** `tally_changes_applied_total` before the writes started (undefined when not exposed). */
  readonly baseline: number | undefined;
  /** Changes the writes so far must produce (read again at each poll: the freshness probe keeps adding). */
  readonly expectedChanges: () => number;
  /** Reads the counts and returns the ones that differ. */
  readonly verify: () => Promise<Mismatch[]>;
  readonly timeoutMs: number;
  readonly epoch: number;
}

/** When every count was right (ms into the run), or the mismatches left at the timeout. */
export interface SettleResult {
  readonly appliedAt: number | undefined;
  readonly mismatches: Mismatch[];
}

/**
 * Waits until every count equals the expected one. Polls the cheap applied-changes counter
 * first and reads all the counts only once it says the work is done; falls back to reading the
 * counts every 250 ms when the target has no such metric (e.g. an api-only process).
 */
export async function waitApplied(options: SettleOptions): Promise<SettleResult> {
  const { sampler, baseline, expectedChanges, verify, timeoutMs, epoch } = options;
  const deadline = performance.now() + timeoutMs;
  let mismatches: Mismatch[] = [];
  while (performance.now() < deadline) {
    const sample = await sampler.scrape().catch(() => undefined);
    const applied = sample?.changesApplied;
    const signalled = baseline === undefined || applied === undefined || applied - baseline >= expectedChanges();
    if (signalled) {
      const at = performance.now() - epoch;
      mismatches = await verify();
      if (mismatches.length === 0) return { appliedAt: baseline === undefined || applied === undefined ? performance.now() - epoch : at, mismatches };
      await sleep(baseline === undefined || applied === undefined ? 250 : 50);
    } else {
      await sleep(10);
    }
  }
  return { appliedAt: undefined, mismatches: await verify() };
}
