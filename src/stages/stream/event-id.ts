/**
 * SSE event ids: `<epoch>.<seq>`, where `epoch` names one hub (one api process run) and `seq` is
 * the hub's change sequence. An event with id `e.s` means: every change this hub numbered up to
 * `s` for the stream's posts has been sent. `0` means nothing was sent yet.
 */
export interface StreamMark {
  readonly epoch: string;
  readonly seq: number;
}

export const NOTHING_SEEN = '0';

export function formatEventId(mark: StreamMark): string {
  return `${mark.epoch}.${mark.seq}`;
}

/** The mark of a `Last-Event-ID`, or undefined when it is absent, malformed or `0`. */
export function parseEventId(raw: string | undefined): StreamMark | undefined {
  if (raw === undefined) return undefined;
  const match = /^([a-z0-9]{1,16})\.(\d{1,15})$/.exec(raw.trim());
  if (match === null) return undefined;
  return { epoch: match[1] ?? '', seq: Number(match[2]) };
}
