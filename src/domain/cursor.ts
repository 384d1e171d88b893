import { TallyError } from './errors.ts';

/** Where a newest-first likers page ended. */
export interface LikersCursor {
  readonly likedAt: number;
  readonly userId: string;
}

/** Opaque to clients: base64url of `likedAt:userId`. */
export function encodeCursor(cursor: LikersCursor): string {
  return Buffer.from(`${cursor.likedAt}:${cursor.userId}`).toString('base64url');
}

export function decodeCursor(cursor: string): LikersCursor {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^(\d{1,16}):([A-Za-z0-9_-]{1,64})$/.exec(text);
  if (match === null) {
    throw new TallyError('invalid_cursor', `cursor "${cursor.slice(0, 80)}" was not issued by this API; pass the nextCursor of a previous page, or omit it for the first page`);
  }
  return { likedAt: Number(match[1]), userId: match[2] as string };
}
