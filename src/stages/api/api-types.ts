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
import type { TokenBuckets } from '../../ports/token-buckets.ts';
import type { AuthMode, LikersAccess, UserLikesAccess } from '../../config/security-options.ts';
import type { TokenVerifier } from './auth/token-verifier.ts';
import type { CountReader } from '../read/count-reader.ts';
import type { LikedPairsFilter } from '../read/liked-pairs-filter.ts';
import type { LikeWriter } from './like-writer.ts';
import type { CountStreamHub } from '../stream/count-stream-hub.ts';
import type { TopPosts } from '../stream/top-posts.ts';
import type { StreamWriterProcess } from './stream-writer/stream-writer.ts';

export interface ApiDeps {
  readonly writer: LikeWriter;
  readonly reader: CountReader;
  readonly likes: LikesStore;
  /** Narrows viewer-flag lookups to the pairs that may be liked; absent: every pair is looked up. */
  readonly likedFilter?: LikedPairsFilter | undefined;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Names of stages that are not running; empty when the process is ready. */
  readonly notReady: () => string[];
  /** Verifies bearer tokens (`--auth jwt`); absent: no authentication. */
  readonly verifier?: TokenVerifier | undefined;
  /** Holds the rate-limit buckets; absent: no rate limits. */
  readonly buckets?: TokenBuckets | undefined;
  /** Live counts (SSE) and the dashboard; absent, their routes are not served. */
  readonly live?: LiveDeps;
}

/** What the live routes need: the process's stream hub and its top-posts window. */
export interface LiveDeps {
  readonly hub: CountStreamHub;
  readonly top: TopPosts;
  /** Writes the streams from a child process (`--stream-writer process`); absent: from the api thread. */
  readonly writer?: StreamWriterProcess | undefined;
}

export interface ApiOptions {
  readonly bodyLimitBytes: number;
  readonly maxBulkEvents: number;
  readonly maxReadPosts: number;
  readonly auth: AuthMode;
  readonly authReads: boolean;
  readonly likers: LikersAccess;
  readonly userLikes: UserLikesAccess;
  /** `off` or `RATE[:BURST]` (config/security-options.ts). */
  readonly rateLimitIp: string;
  readonly rateLimitUser: string;
  readonly trustProxy: string;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
}

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger, TypeBoxTypeProvider>;

