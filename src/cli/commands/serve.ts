import { createApp, type StageName } from '../../composition/app.ts';
import { createPorts } from '../../composition/create-ports.ts';
import type { Options } from '../../config/options.ts';
import { createLogger } from '../../observability/logger.ts';

/**
 * Runs the given stages in this process until SIGTERM or SIGINT, then drains and exits 0.
 * `serve` runs them all; the distributed mode also runs each alone (`tally ingest`, ...).
 */
export async function runStages(options: Options, stages: ReadonlySet<StageName>): Promise<void> {
  const log = createLogger(options.logLevel);
  const ports = await createPorts(options, log);
  const app = await createApp(ports, options, stages, log);
  await app.start();
  const what = [...(app.api ? ['api'] : []), ...app.stageNames].join(', ');
  log.info({ url: app.url, mode: ports.mode, stages: what, data: ports.describe() }, `tally ${ports.mode}: running ${what}${app.url ? ` on ${app.url}` : ''}`);
  if (app.url !== undefined) process.stdout.write(`tally: listening on ${app.url} (${ports.mode}: ${ports.describe()})\n`);
  process.stdout.write(`tally: ready (${what})\n`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'tally: draining and stopping');
    app
      .stop()
      .then(() => {
        log.info('tally: stopped');
        log.flush();
        process.exit(0);
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'tally: error while stopping');
        log.flush();
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
