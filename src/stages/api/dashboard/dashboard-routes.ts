import { readFileSync } from 'node:fs';
import { ErrorBody, TopPostsBody, TopPostsQuery } from '../schemas.ts';
import type { Api, LiveDeps } from '../api-types.ts';

const WINDOW_SECONDS = 60;

/**
 * GET /dashboard: the operator's live page, one self-contained HTML file (no CDN, no web fonts)
 * that reads `/metrics`, `/dashboard/top-posts` and the live stream; GET /dashboard/top-posts:
 * the posts that gained the most likes in the last minute, as this api process heard of them.
 */
export function registerDashboardRoutes(app: Api, live: LiveDeps): void {
  const page = readFileSync(new URL('./dashboard.html', import.meta.url));

  app.get('/dashboard', { schema: { tags: ['ops'], summary: 'The live dashboard (HTML)' } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page),
  );

  app.get(
    '/dashboard/top-posts',
    { schema: { tags: ['ops'], summary: 'Posts with the most likes in the last minute', querystring: TopPostsQuery, response: { 200: TopPostsBody, '4xx': ErrorBody } } },
    async (request) => ({ windowSeconds: WINDOW_SECONDS, posts: live.top.top(request.query.limit ?? 10) }),
  );
}
