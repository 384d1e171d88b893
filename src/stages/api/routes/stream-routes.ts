import { responseSink } from '../stream-writer/stream-writer.ts';
import { ErrorBody, StreamQuery } from '../schemas.ts';
import type { Api, ApiOptions, LiveDeps } from '../api-types.ts';
import { parsePostList } from './read-routes.ts';

/** One Server-Sent Event as a parser reads it; `data` is the JSON text of {"postId", "count"}. */
const SSE_EVENT = {
  type: 'object',
  required: ['data'],
  properties: {
    event: { type: 'string' },
    id: { type: 'string' },
    retry: { type: 'integer' },
    data: { type: 'string', contentMediaType: 'application/json', description: '{"postId": "...", "count": n}' },
  },
} as const;

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // nginx and similar proxies would otherwise buffer the stream.
  'x-accel-buffering': 'no',
} as const;

/** GET /v1/stream/counts: live counts as Server-Sent Events. */
export function registerStreamRoutes(app: Api, live: LiveDeps, options: ApiOptions): void {
  // Open streams would keep `close()` waiting: end them first.
  app.addHook('preClose', async () => {
    live.hub.stop();
    live.writer?.close();
  });

  app.get(
    '/v1/stream/counts',
    {
      schema: {
        tags: ['reads'],
        summary: 'Live counts (Server-Sent Events): `event: count`, `data: {"postId","count"}`, resumable with Last-Event-ID',
        querystring: StreamQuery,
        // The 200 is an event stream written on the raw response (documented, never serialized);
        // its schema is one event's (OpenAPI 3.2 `itemSchema`, read as `schema` in 3.0).
        response: { 200: { description: 'text/event-stream of `event: count` events', content: { 'text/event-stream': { schema: SSE_EVENT } } }, '4xx': ErrorBody, '5xx': ErrorBody },
      },
    },
    async (request, reply) => {
      const postIds = parsePostList(request.query.posts, options.maxReadPosts);
      const header = request.headers['last-event-id'];
      const lastEventId = Array.isArray(header) ? header[0] : header;
      // The body is not chunked: it ends with the connection (`Connection: close`), which is how
      // an event stream ends anyway, and each flush is then one plain socket write instead of a
      // chunk's four pieces (size, CRLF, text, CRLF).
      const out = live.writer === undefined ? responseSink(reply.raw, SSE_HEADERS) : live.writer.sink(reply.raw, SSE_HEADERS);
      const stream = await live.hub.open(postIds, lastEventId, out.sink);
      // The hub has written the head and the opening values on the raw response.
      reply.hijack();
      out.watch((reason) => stream.close(reason));
    },
  );
}
