/** A shard of a DynamoDB stream, as DescribeStream lists it. */
export interface ShardInfo {
  readonly shardId: string;
  /** The shard this one split from; its records come first. */
  readonly parentShardId?: string | undefined;
}

/** What the capture has durably read of a shard. */
export interface ShardCheckpoint {
  /** The last sequence number relayed; undefined: nothing yet (read from TRIM_HORIZON). */
  readonly seq?: string | undefined;
  /** The shard is closed and every record of it was relayed. */
  readonly done: boolean;
}

export interface ShardPlan {
  /** Shards to read now, parents before children. */
  readonly readable: readonly string[];
  /**
   * Shards whose records may be lost: begun but no longer listed (trimmed after 24 hours), or the
   * unlisted parent of a listed shard that this capture never finished. Each is a reconcile case.
   */
  readonly lost: readonly string[];
}

/**
 * Walks the shard lineage: a shard is read only once its parent is done (or gone from the
 * stream), so every item's records are relayed in the order they were written. Pure, so it is
 * tested with plain data.
 */
export function planShards(shards: readonly ShardInfo[], checkpoints: ReadonlyMap<string, ShardCheckpoint>): ShardPlan {
  const listed = new Map(shards.map((s) => [s.shardId, s]));
  const lost = new Set<string>();
  for (const [shardId, checkpoint] of checkpoints) {
    if (!checkpoint.done && !listed.has(shardId)) lost.add(shardId);
  }
  const started = checkpoints.size > 0;
  for (const shard of shards) {
    const parent = shard.parentShardId;
    if (parent === undefined || listed.has(parent)) continue;
    const seen = checkpoints.get(parent);
    // A parent gone from the stream is fine when it was finished; unknown to a capture that has
    // been running, it came and went while the capture was down for longer than the retention.
    if ((seen !== undefined && !seen.done) || (seen === undefined && started && !checkpoints.has(shard.shardId))) lost.add(parent);
  }
  const isDone = (shardId: string): boolean => checkpoints.get(shardId)?.done === true;
  const readable: string[] = [];
  const visit = (shard: ShardInfo, depth: number): void => {
    if (isDone(shard.shardId) || depth > shards.length) return;
    const parent = shard.parentShardId === undefined ? undefined : listed.get(shard.parentShardId);
    if (parent !== undefined && !isDone(parent.shardId)) return;
    readable.push(shard.shardId);
  };
  for (const shard of orderParentsFirst(shards)) visit(shard, 0);
  return { readable, lost: [...lost].sort() };
}

/** The shards with every listed parent before its children (DescribeStream usually lists them so, but does not promise it). */
export function orderParentsFirst(shards: readonly ShardInfo[]): ShardInfo[] {
  const listed = new Map(shards.map((s) => [s.shardId, s]));
  const out: ShardInfo[] = [];
  const placed = new Set<string>();
  const place = (shard: ShardInfo, path: Set<string>): void => {
    if (placed.has(shard.shardId) || path.has(shard.shardId)) return;
    path.add(shard.shardId);
    const parent = shard.parentShardId === undefined ? undefined : listed.get(shard.parentShardId);
    if (parent !== undefined) place(parent, path);
    placed.add(shard.shardId);
    out.push(shard);
  };
  for (const shard of shards) place(shard, new Set());
  return out;
}
