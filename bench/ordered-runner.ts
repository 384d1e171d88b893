/** How {@link runOrdered} schedules tasks 0..count-1. */
export interface OrderedRunOptions {
  readonly count: number;
  /** Most tasks in flight at once. */
  readonly concurrency: number;
  /** Task j starts only once every task i ≤ j - window has finished (so tasks `window` apart never overlap). */
  readonly window: number;
  readonly task: (index: number) => Promise<void>;
  /** Checked before each start; once true, no new task starts (the ones in flight finish). */
  readonly shouldStop?: () => boolean;
}

/**
 * Runs tasks in index order with bounded concurrency and a sliding window, the way the load
 * generator keeps the order of events that touch the same (post, user). Resolves with the number
 * of tasks run, always a prefix 0..n-1 of the indexes; rejects with the first task error.
 */
export function runOrdered(options: OrderedRunOptions): Promise<number> {
  const { count, concurrency, window, task, shouldStop } = options;
  if (concurrency < 1 || window < 1) throw new RangeError('concurrency and window must be ≥ 1');
  return new Promise((resolve, reject) => {
    const done = new Uint8Array(count);
    let lowest = 0;
    let next = 0;
    let inFlight = 0;
    let stopped = false;
    let failed = false;

    const pump = (): void => {
      while (!failed && !stopped && inFlight < concurrency && next < count && next < lowest + window) {
        if (shouldStop?.() === true) {
          stopped = true;
          break;
        }
        start(next++);
      }
      if (inFlight === 0 && !failed && (stopped || next >= count)) resolve(next);
    };

    const start = (index: number): void => {
      inFlight++;
      task(index).then(
        () => {
          inFlight--;
          done[index] = 1;
          while (lowest < count && done[lowest] === 1) lowest++;
          pump();
        },
        (error: unknown) => {
          inFlight--;
          if (!failed) {
            failed = true;
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        },
      );
    };

    pump();
  });
}
