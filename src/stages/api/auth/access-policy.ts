import { TallyError } from '../../../domain/errors.ts';
import type { LikersAccess, UserLikesAccess } from '../../../config/security-options.ts';
import { hasScope, type Principal } from './principal.ts';

/** What a route lets a caller do, and so what it asks of the caller's token. */
export type Access =
  /** Ops and docs: never asks for a token. */
  | 'public'
  /** Counts without a viewer (the live stream): a token only with --auth-reads. */
  | 'count'
  /** One or many counts with an optional `viewer`: as `count`, and the viewer must be the caller (or likers:read). */
  | 'counts'
  /** Like or unlike as `userId`: the caller must be that user, or a service with likes:write. */
  | 'write-as-user'
  /** Has `userId` liked: the caller must be that user, or a service with likers:read. */
  | 'read-as-user'
  /** Bulk writes for any users: services with likes:write only. */
  | 'bulk'
  /** A post's likers: public, or services with likers:read under --likers service. */
  | 'likers'
  /** Erase `userId`'s likes or read its erasure: that user itself, or a service with admin. */
  | 'erase-user'
  /** Erase a post's likes: services with admin only. */
  | 'admin'
  /** A user's Likes tab: the user itself, services with likers:read or admin, or anyone under --user-likes public. */
  | 'user-likes';

/** The access of every /v1 route; a /v1 route missing here stops start-up (no route is public by accident). */
export const ROUTE_ACCESS: Readonly<Record<string, Access>> = {
  'PUT /v1/posts/:postId/likes/:userId': 'write-as-user',
  'DELETE /v1/posts/:postId/likes/:userId': 'write-as-user',
  'GET /v1/posts/:postId/likes/:userId': 'read-as-user',
  'GET /v1/posts/:postId/likes': 'likers',
  'GET /v1/users/:userId/likes': 'user-likes',
  'GET /v1/posts/:postId/count': 'counts',
  'GET /v1/counts': 'counts',
  'GET /v1/stream/counts': 'count',
  'POST /v1/events': 'bulk',
  'DELETE /v1/users/:userId/likes': 'erase-user',
  'GET /v1/users/:userId/erasure': 'erase-user',
  'DELETE /v1/posts/:postId/likes': 'admin',
  'GET /v1/posts/:postId/erasure': 'admin',
};

/** The access of a route, by method and URL pattern (HEAD is its GET). */
export function routeAccess(method: string, url: string): Access {
  const access = ROUTE_ACCESS[`${method === 'HEAD' ? 'GET' : method} ${url}`];
  if (access !== undefined) return access;
  if (url.startsWith('/v1/')) throw new Error(`route ${method} ${url} has no access rule in auth/access-policy.ts`);
  return 'public';
}

/** The settings the policy depends on. */
export interface AccessSettings {
  readonly authReads: boolean;
  readonly likers: LikersAccess;
  readonly userLikes: UserLikesAccess;
}

/** True when a request to a route of this access must carry a token at all (checked before its body is read). */
export function needsToken(access: Access, settings: AccessSettings): boolean {
  switch (access) {
    case 'public':
      return false;
    case 'count':
    case 'counts':
      return settings.authReads;
    case 'likers':
      return settings.authReads || settings.likers === 'service';
    case 'user-likes':
      return settings.authReads || settings.userLikes === 'private';
    default:
      return true;
  }
}

/** The request fields the policy looks at. */
export interface AccessInput {
  readonly userId?: string | undefined;
  readonly viewer?: string | undefined;
}

/**
 * Throws `unauthenticated` when a token is needed and absent, `forbidden` when the caller may not
 * do this: an end user acts and reads only as its `sub`; services need the route's scope.
 */
export function authorize(access: Access, principal: Principal | undefined, input: AccessInput, settings: AccessSettings): void {
  if (principal === undefined) {
    if (needsToken(access, settings) || (access === 'counts' && input.viewer !== undefined)) {
      throw new TallyError('unauthenticated', 'this request needs a bearer token: send Authorization: Bearer <JWT>');
    }
    return;
  }
  switch (access) {
    case 'write-as-user':
      return actAs(principal, input.userId, 'likes:write', 'like or unlike');
    case 'read-as-user':
      return actAs(principal, input.userId, 'likers:read', 'read the likes of');
    case 'counts':
      if (input.viewer !== undefined) actAs(principal, input.viewer, 'likers:read', 'read the liked flags of');
      return;
    case 'bulk':
      if (!hasScope(principal, 'likes:write')) throw new TallyError('forbidden', 'POST /v1/events is for service tokens with the likes:write scope; end users like one post at a time');
      return;
    case 'likers':
      if (settings.likers === 'service' && !hasScope(principal, 'likers:read')) {
        throw new TallyError('forbidden', 'the likers of a post are private here (--likers service): only service tokens with the likers:read scope may list them');
      }
      return;
    case 'erase-user':
      if (principal.kind === 'user' ? principal.sub !== input.userId : !hasScope(principal, 'admin')) {
        throw new TallyError('forbidden', `only the user "${String(input.userId).slice(0, 64)}" itself, or a service token with the admin scope, may erase its likes or read its erasure`);
      }
      return;
    case 'admin':
      if (!hasScope(principal, 'admin')) throw new TallyError('forbidden', "erasing a post's likes, or reading that erasure, needs a service token with the admin scope");
      return;
    case 'user-likes':
      if (settings.userLikes === 'public') return;
      if (principal.kind === 'user' ? principal.sub === input.userId : principal.scopes.has('likers:read') || principal.scopes.has('admin')) return;
      // The code of the private likers list in the same situation.
      throw new TallyError(
        'forbidden',
        principal.kind === 'user'
          ? `Likes tabs are private here (--user-likes private): a user token may read only its own ("sub"), not "${String(input.userId).slice(0, 64)}"`
          : 'Likes tabs are private here (--user-likes private): a service token needs the likers:read or admin scope to read another user\'s',
      );
    default:
      return;
  }
}

function actAs(principal: Principal, userId: string | undefined, scope: 'likes:write' | 'likers:read', what: string): void {
  if (principal.kind === 'user') {
    if (principal.sub !== userId) throw new TallyError('forbidden', `a user token may only ${what} its own user ("sub"), not "${String(userId).slice(0, 64)}"`);
    return;
  }
  if (!principal.scopes.has(scope)) throw new TallyError('forbidden', `this service token lacks the ${scope} scope needed to ${what} another user`);
}
