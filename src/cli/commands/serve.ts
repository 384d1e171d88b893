import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type StageName } from '../../composition/app.ts';
import { createPorts } from '../../composition/create-ports.ts';
import type { Options } from '../../config/options.ts';
import { createLogger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';

/**
 * Runs the given stages in this process until SIGTERM or SIGINT, then drains and exits 0.
 * `serve` runs them all; the distributed mode also runs each alone (`tally ingest`, ...).
 */
export async function runStages(options: Options, stages: ReadonlySet<StageName>): Promise<void> {
  const log = createLogger(options.logLevel);
  const ports = await createPorts(options, log, stages.has('api'));
  const app = await createApp(ports, options, stages, log);
  await app.start();
  const what = [...(app.api ? ['api'] : []), ...app.stageNames].join(', ');
  log.info({ url: app.url, mode: ports.mode, stages: what, data: ports.describe() }, `tally ${ports.mode}: running ${what}${app.url ? ` on ${app.url}` : ''}`);
  if (app.url !== undefined) process.stdout.write(`tally: listening on ${app.url} (${ports.mode}: ${ports.describe()})\n`);
  const metricsServer = app.api === undefined && options.metricsPort >= 0 ? await serveMetrics(app.metrics, options.metricsPort, options.host) : undefined;
  if (metricsServer !== undefined) process.stdout.write(`tally: metrics on ${metricsServer.url}/metrics\n`);
  process.stdout.write(`tally: ready (${what})\n`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'tally: draining and stopping');
    metricsServer?.server.close();
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

/** `GET /metrics` of a process that runs no api (`--metrics-port`), so its stages can be scraped. */
async function serveMetrics(metrics: Metrics, port: number, host: string): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://metrics');
    if (request.method !== 'GET' || url.pathname !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'only GET /metrics here' } }));
      return;
    }
    const names = url.searchParams.getAll('name');
    metrics.render(names.length === 0 ? undefined : names).then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}` };
}
