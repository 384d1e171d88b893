import type { Options } from '../config/options.ts';
import type { Logger } from '../observability/logger.ts';
import { createEmbeddedPorts } from './embedded-ports.ts';
import type { PortSet } from './port-set.ts';

/**
 * The composition root's one switch: which backend provides the ports. `appends` says whether
 * this process writes the like-events log (runs the api): only a writer checks and records the
 * log's `--hot-shards`.
 */
export async function createPorts(options: Options, log: Logger, appends = true): Promise<PortSet> {
  if (!options.distributed) return createEmbeddedPorts(options);
  const { createDistributedPorts } = await import('./distributed-ports.ts');
  return createDistributedPorts(options, log, appends);
}
