import type { App } from '../../src/composition/app.ts';
import { eventually } from './wait.ts';

/** Waits until the in-process pipeline has ingested and counted everything appended so far. */
export async function drained(app: App, timeoutMs = 20_000): Promise<void> {
  const tracker = app.ports.tracker;
  if (tracker === undefined) throw new Error('drained() needs the in-process tracker of the embedded mode');
  await eventually('ingest lag 0', timeoutMs, () => (tracker.ingestLag() === 0 ? true : undefined));
  if (!(await tracker.waitDrained(timeoutMs))) throw new Error(`the counter did not catch up within ${timeoutMs} ms`);
}
