import type { Options } from '../config/options.ts';
import { TallyError } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { PortSet } from './port-set.ts';

/** Distributed mode: Kafka log, PostgreSQL likes and counter stores, Redis cache. */
export async function createDistributedPorts(_options: Options, _log: Logger): Promise<PortSet> {
  throw new TallyError('invalid_option', 'the distributed mode is not built yet; run without --distributed');
}
