import { TallyError } from '../../../domain/errors.ts';
import type { LikeEvent, LikeOp } from '../../../domain/like-event.ts';
import { Accepted, BulkBody, ErrorBody, LikeParams, WaitQuery } from '../schemas.ts';
import type { Api, ApiDeps, ApiOptions } from '../api-types.ts';

/** PUT/DELETE one like, POST /v1/events in bulk; 202 once durable in the log. */
export function registerWriteRoutes(app: Api, deps: ApiDeps, options: ApiOptions): void {
  const single = (op: LikeOp) =>
    ({
      schema: {
        tags: ['writes'],
        summary: op === 'like' ? 'Like a post (idempotent)' : 'Unlike a post (idempotent)',
        params: LikeParams,
        querystring: WaitQuery,
        response: { 202: Accepted, '4xx': ErrorBody, '5xx': ErrorBody },
      },
    }) as const;

  app.put('/v1/posts/:postId/likes/:userId', single('like'), async (request, reply) => {
    const { postId, userId } = request.params;
    const result = await deps.writer.write([{ op: 'like', postId, userId, at: Date.now() }], request.query.wait === 'applied');
    return reply.status(202).send(result);
  });

  app.delete('/v1/posts/:postId/likes/:userId', single('unlike'), async (request, reply) => {
    const { postId, userId } = request.params;
    const result = await deps.writer.write([{ op: 'unlike', postId, userId, at: Date.now() }], request.query.wait === 'applied');
    return reply.status(202).send(result);
  });

  app.post(
    '/v1/events',
    {
      schema: {
        tags: ['writes'],
        summary: 'Bulk likes and unlikes, applied in the order given',
        body: BulkBody,
        querystring: WaitQuery,
        response: { 202: Accepted, '4xx': ErrorBody, '5xx': ErrorBody },
      },
    },
    async (request, reply) => {
      const input = request.body.events;
      if (input.length > options.maxBulkEvents) {
        throw new TallyError('too_many_events', `${input.length} events in one request; at most ${options.maxBulkEvents} (--max-bulk-events); split the batch`);
      }
      const at = Date.now();
      const events: LikeEvent[] = input.map((e) => ({ op: e.op, postId: e.postId, userId: e.userId, at }));
      const result = await deps.writer.write(events, request.query.wait === 'applied');
      return reply.status(202).send(result);
    },
  );
}
