import type { Change } from '../domain/change.ts';
import type { Lifecycle } from './lifecycle.ts';

/** The transport side of CDC: writes changes into the change feed (a Kafka topic keyed by post). */
export interface ChangePublisher extends Lifecycle {
  /** Resolves once every change is durable in the feed, in order per post. */
  publish(changes: readonly Change[], sources: readonly string[]): Promise<void>;
  /**
   * For each feed partition, the greatest source position already published there (read back
   * from the feed on start-up); a relay skips changes at or below it to publish each change once.
   */
  publishedSources(): Promise<Map<number, string>>;
  /** The feed partition a post's changes go to. */
  partitionOf(postId: string): number;
}
