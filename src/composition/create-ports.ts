import type { Options } from '../config/options.ts';
import type { Logger } from '../observability/logger.ts';
import { createEmbeddedPorts } from './embedded-ports.ts';
import type { PortSet } from './port-set.ts';

/** The composition root's one switch: which backend provides the ports. */
export async function createPorts(options: Options, log: Logger): Promise<PortSet> {
  if (!options.distributed) return createEmbeddedPorts(options);
  const { createDistributedPorts } = await import('./distributed-ports.ts');
  return createDistributedPorts(options, log);
}
