import cliProgress from 'cli-progress';

/** One phase's progress bar. */
export interface PhaseProgress {
  update(value: number): void;
  stop(): void;
}

const NONE: PhaseProgress = { update: () => undefined, stop: () => undefined };

/** A progress bar per phase on stderr, only when stderr is a terminal (never in logs or CI). */
export function phaseProgress(enabled: boolean, phase: string, total: number, unit: string): PhaseProgress {
  if (!enabled || process.stderr.isTTY !== true) return NONE;
  const bar = new cliProgress.SingleBar(
    { format: `${phase.padEnd(22)} [{bar}] {percentage}% | {value}/{total} ${unit}`, stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (value) => bar.update(Math.min(total, Math.round(value))),
    stop: () => bar.stop(),
  };
}
