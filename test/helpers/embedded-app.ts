import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App, type StageName } from '../../src/composition/app.ts';
import { createEmbeddedPorts } from '../../src/composition/embedded-ports.ts';
import { loadOptions, type Options } from '../../src/config/options.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';

export const ALL_STAGES: ReadonlySet<StageName> = new Set(['api', 'ingest', 'counter', 'reconcile']);

/**
 * Options as a user would get them, with test-friendly overrides. Like production, the stages
 * run in the pipeline worker thread unless a test asks for `pipelineThread: false` (then the
 * stages' metrics and objects are in this thread, which some tests inspect).
 */
export function testOptions(overrides: Partial<Options> = {}): Options {
  return { ...loadOptions(new Map(), {}), port: 0, logLevel: 'warn', reconcileIntervalMs: 0, idleMs: 50, ...overrides };
}

/** An embedded Tally in a fresh temporary folder, started; the test context stops it and removes the folder. */
export async function startEmbedded(
  t: { after: (fn: () => Promise<void> | void) => void },
  overrides: Partial<Options> = {},
  stages: ReadonlySet<StageName> = ALL_STAGES,
): Promise<{ app: App; options: Options; dir: string }> {
  const dir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'tally-test-'));
  const options = testOptions({ ...overrides, dataDir: dir });
  const log = createLogger(options.logLevel);
  const app = await createApp(createEmbeddedPorts(options), options, stages, log, new Metrics({ defaultMetrics: false }));
  await app.start();
  t.after(async () => {
    await app.stop(2000).catch(() => undefined);
    if (overrides.dataDir === undefined) rmSync(dir, { recursive: true, force: true });
  });
  return { app, options, dir };
}
