import { setTimeout as sleep } from 'node:timers/promises';
import type { MetricsSampler } from './metrics-sampler.ts';
import type { Mismatch } from './verify.ts';

/** How {@link waitApplied} decides that every write is counted. */
export interface SettleOptions {
  readonly sampler: Pick<MetricsSampler, 'scrape'>;
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

const POLL_MS = 10;
/** Counts are read at least this often even when the metric says "not yet" (its meaning may differ per target). */
const VERIFY_EVERY_MS = 1000;

/**
 * Waits until every count equals the expected one. Polls the cheap applied-changes counter and
 * reads all the counts once it says the work is done, and also every second whatever it says, so
 * a target whose metric counts differently (or has none, like an api-only process) still settles.
 * `appliedAt` is when the successful check started.
 */
export async function waitApplied(options: SettleOptions): Promise<SettleResult> {
  const { sampler, baseline, expectedChanges, verify, timeoutMs, epoch } = options;
  const deadline = performance.now() + timeoutMs;
  let lastVerify = performance.now();
  let mismatches: Mismatch[] = [];
  for (;;) {
    const sample = await sampler.scrape().catch(() => undefined);
    const applied = sample?.changesApplied;
    const signalled = baseline !== undefined && applied !== undefined && applied - baseline >= expectedChanges();
    const now = performance.now();
    if (signalled || now - lastVerify >= VERIFY_EVERY_MS || now >= deadline) {
      lastVerify = now;
      mismatches = await verify();
      if (mismatches.length === 0) return { appliedAt: now - epoch, mismatches };
      if (now >= deadline) return { appliedAt: undefined, mismatches };
      if (signalled) await sleep(50);
    }
    await sleep(POLL_MS);
  }
}
