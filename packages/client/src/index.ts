export { TallyClient, type CallOptions, type StreamOptions, type StreamedCount, type TallyClientOptions, type WriteOptions } from './tally-client.ts';
export { TallyApiError } from './tally-api-error.ts';
export type { RetryOptions } from './backoff.ts';
export type { Accepted, BulkEvent, Count, CountEvent, Counts, Liked, Liker, LikersPage, TallyErrorCode, UserLike, UserLikesPage } from './api-types.ts';
