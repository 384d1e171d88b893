import { newErasure, type ErasureKind, type ErasureStatus } from '../../../domain/erasure.ts';
import { Accepted, ErasureStatusBody, ErrorBody, PostParams, UserParams, WaitQuery } from '../schemas.ts';
import type { Api, ApiDeps } from '../api-types.ts';

/**
 * Erasures through the log: DELETE a user's likes or a post's likes (202 once the marker is
 * durable; `?wait=applied` once every like it removes is removed and counted), and the status of
 * a user's latest erasure.
 */
export function registerErasureRoutes(app: Api, deps: ApiDeps): void {
  /** Appends the erasure's markers (recorded as accepted first, so its status reads `pending` at once). */
  const erase = (kind: ErasureKind, target: string, wait: boolean) => {
    const marker = newErasure(kind, target, deps.writer.hotShards);
    return deps.writer.erase(marker, wait, (total) => deps.likes.erasureAccepted(marker, total));
  };

  app.delete(
    '/v1/users/:userId/likes',
    {
      schema: {
        tags: ['erasures'],
        summary: 'Erase every like the user gave before this request (account deletion); later likes stay',
        params: UserParams,
        querystring: WaitQuery,
        response: { 202: Accepted, '4xx': ErrorBody, '5xx': ErrorBody },
      },
    },
    async (request, reply) => reply.status(202).send(await erase('user', request.params.userId, request.query.wait === 'applied')),
  );

  app.delete(
    '/v1/posts/:postId/likes',
    {
      schema: {
        tags: ['erasures'],
        summary: 'Erase every like of the post (a deleted post): its count becomes 0, its likers list empty',
        params: PostParams,
        querystring: WaitQuery,
        response: { 202: Accepted, '4xx': ErrorBody, '5xx': ErrorBody },
      },
    },
    async (request, reply) => reply.status(202).send(await erase('post', request.params.postId, request.query.wait === 'applied')),
  );

  app.get(
    '/v1/posts/:postId/erasure',
    {
      schema: {
        tags: ['erasures'],
        summary: "The status of the post's latest erasure",
        params: PostParams,
        response: { 200: ErasureStatusBody, '4xx': ErrorBody, '5xx': ErrorBody },
      },
    },
    async (request) => describe({ postId: request.params.postId }, await deps.likes.erasureStatus('post', request.params.postId)),
  );

  app.get(
    '/v1/users/:userId/erasure',
    {
      schema: {
        tags: ['erasures'],
        summary: "The status of the user's latest erasure",
        params: UserParams,
        response: { 200: ErasureStatusBody, '4xx': ErrorBody, '5xx': ErrorBody },
      },
    },
    async (request) => describe({ userId: request.params.userId }, await deps.likes.erasureStatus('user', request.params.userId)),
  );
}

function describe<K extends { userId: string } | { postId: string }>(target: K, status: ErasureStatus | undefined) {
  if (status === undefined) return { ...target, status: 'none' as const, removed: 0, partitionsDone: 0, partitionsTotal: 0, acceptedAt: null };
  return {
    ...target,
    status: status.status,
    removed: status.removed,
    partitionsDone: status.partitionsDone,
    partitionsTotal: status.partitionsTotal,
    acceptedAt: new Date(status.acceptedAt).toISOString(),
  };
}
