import type { LogPlace } from './cassandra-change-log.ts';
import { comparePlaces } from './cassandra-change-log.ts';

/**
 * A position of the whole change log: one place per stream. Stream marks are not ordered as
 * strings (they are vectors), so the profile compares them itself (`relayCovers`).
 */
export type RelayMark = ReadonlyMap<number, LogPlace>;

/** Where a stream's relay starts: before everything (recounts start at seq 1, deltas at seq max). */
export const START: LogPlace = { time: 0, seq: 0 };

export function encodeMark(mark: RelayMark): string {
  return JSON.stringify([...mark].sort((a, b) => a[0] - b[0]).map(([stream, place]) => [stream, place.time, place.seq]));
}

export function decodeMark(text: string): RelayMark {
  if (text === '') return new Map();
  const entries = JSON.parse(text) as [number, number, number][];
  return new Map(entries.map(([stream, time, seq]) => [stream, { time, seq }]));
}

/** True when the relay has got at least to `mark` on every stream. */
export function relayCovers(confirmed: string, mark: string): boolean {
  const have = decodeMark(confirmed);
  for (const [stream, place] of decodeMark(mark)) {
    if (comparePlaces(have.get(stream) ?? START, place) < 0) return false;
  }
  return true;
}
