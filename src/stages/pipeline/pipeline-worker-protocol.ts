import type { StreamPosition } from '../../domain/change.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';

/** Messages from the pipeline worker thread to the api thread. */
export type FromPipeline =
  | { readonly t: 'ready' }
  | { readonly t: 'failed'; readonly message: string }
  | { readonly t: 'stopped' }
  | { readonly t: 'counts'; readonly counts: readonly VersionedCount[] }
  | { readonly t: 'ingested'; readonly log: readonly StreamPosition[]; readonly feed: readonly StreamPosition[] | undefined }
  | { readonly t: 'counted'; readonly feed: readonly StreamPosition[] }
  | { readonly t: 'status'; readonly notRunning: readonly string[]; readonly metrics: string };

/** Messages from the api thread to the pipeline worker thread. */
export type ToPipeline = { readonly t: 'appended' } | { readonly t: 'stop' };
