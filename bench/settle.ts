import { setTimeout as sleep } from 'node:timers/promises';
import type { MetricsSampler } from './metrics-sampler.ts';
import type { Mismatch } from './verify.ts';

/** How {@link waitApplied} decides that every write is counted. */
export interface SettleOptions {
  readonly sampler: Pick<MetricsSampler, 'progress'>;
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

/** Scrapes of `/metrics` cost the server about a millisecond each: every 20 ms is within 0.25% of a bulk phase. */
const POLL_MS = 20;
/** Counts are read at least this often even when the metrics say "not yet" (their meaning may differ per target). */
const VERIFY_EVERY_MS = 1000;
/** The same when the target shows its stages' lag: reading every count is then only a safety net. */
const VERIFY_EVERY_WITH_LAG_MS = 5000;
/** After a signal that proved early (a lag polled from the stores can lag), the next is trusted only after this. */
const DISTRUST_MS = 250;

/**
 * Waits until every count equals the expected one. Polls the target's `/metrics` and reads all
 * the counts once they say the work is done: no stage has events or changes waiting
 * (`tally_stage_lag_events` of ingest and counter both 0), or the counters applied the changes
 * the writes make (`tally_changes_applied_total`; ingest collapses a like and a later unlike of
 * one pair in a batch into nothing, so this one may never reach the count). The counts are also
 * read every second whatever the metrics say (every 5 s when the lag is shown), so a target whose
 * metrics count differently, or that has none, still settles. `appliedAt` is when the successful
 * check started.
 */
export async function waitApplied(options: SettleOptions): Promise<SettleResult> {
  const { sampler, baseline, expectedChanges, verify, timeoutMs, epoch } = options;
  const deadline = performance.now() + timeoutMs;
  let lastVerify = performance.now();
  let trustLagFrom = 0;
  let mismatches: Mismatch[] = [];
  for (;;) {
    const sample = await sampler.progress().catch(() => undefined);
    const applied = sample?.changesApplied;
    const lagShown = sample?.ingestLag !== undefined && sample.counterLag !== undefined;
    const now = performance.now();
    const caughtUp = lagShown && sample.ingestLag === 0 && sample.counterLag === 0 && now >= trustLagFrom;
    const signalled = caughtUp || (baseline !== undefined && applied !== undefined && applied - baseline >= expectedChanges());
    if (signalled || now - lastVerify >= (lagShown ? VERIFY_EVERY_WITH_LAG_MS : VERIFY_EVERY_MS) || now >= deadline) {
      lastVerify = now;
      mismatches = await verify();
      if (mismatches.length === 0) return { appliedAt: now - epoch, mismatches };
      if (now >= deadline) return { appliedAt: undefined, mismatches };
      if (caughtUp) trustLagFrom = performance.now() + DISTRUST_MS;
      if (signalled) await sleep(50);
    }
    await sleep(POLL_MS);
  }
}
