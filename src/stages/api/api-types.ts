import type {
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { LikesStore } from '../../ports/likes-store.ts';
import type { CountReader } from '../read/count-reader.ts';
import type { LikeWriter } from './like-writer.ts';
import type { LiveDeps } from './routes/stream-routes.ts';

export interface ApiDeps {
  readonly writer: LikeWriter;
  readonly reader: CountReader;
  readonly likes: LikesStore;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Names of stages that are not running; empty when the process is ready. */
  readonly notReady: () => string[];
  /** Live counts (SSE) and the dashboard; absent, their routes are not served. */
  readonly live?: LiveDeps;
}

export interface ApiOptions {
  readonly bodyLimitBytes: number;
  readonly maxBulkEvents: number;
  readonly maxReadPosts: number;
}

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger, TypeBoxTypeProvider>;

