import { TallyError } from './errors.ts';

/** Where a newest-first likers page ended. */
export interface LikersCursor {
  readonly likedAt: number;
  readonly userId: string;
}

/** Where a newest-first page of a user's likes (its Likes tab) ended. */
export interface UserLikesCursor {
  readonly likedAt: number;
  readonly postId: string;
}

/** Opaque to clients: base64url of `likedAt:userId`. */
export function encodeCursor(cursor: LikersCursor): string {
  return Buffer.from(`${cursor.likedAt}:${cursor.userId}`).toString('base64url');
}

export function decodeCursor(cursor: string): LikersCursor {
  const match = /^(\d{1,16}):([A-Za-z0-9_-]{1,64})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (match === null) throw notIssued(cursor);
  return { likedAt: Number(match[1]), userId: match[2] as string };
}

/** Opaque to clients: base64url of `u:likedAt:postId` (the prefix keeps it apart from likers cursors). */
export function encodeUserLikesCursor(cursor: UserLikesCursor): string {
  return Buffer.from(`u:${cursor.likedAt}:${cursor.postId}`).toString('base64url');
}

export function decodeUserLikesCursor(cursor: string): UserLikesCursor {
  const match = /^u:(\d{1,16}):([A-Za-z0-9_-]{1,64})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (match === null) throw notIssued(cursor);
  return { likedAt: Number(match[1]), postId: match[2] as string };
}

function notIssued(cursor: string): TallyError {
  return new TallyError('invalid_cursor', `cursor "${cursor.slice(0, 80)}" was not issued by this API; pass the nextCursor of a previous page, or omit it for the first page`);
}
