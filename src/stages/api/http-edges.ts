import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TallyError, type ErrorCode } from '../../domain/errors.ts';
import { ERROR_STATUS } from './error-statuses.ts';
import type { Api } from './api-types.ts';

/** The error body of the whole API: `{"error": {"code", "message"}}`. */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/**
 * Answers what Node's HTTP parser refuses before Fastify sees a request (a bad request line or
 * header, headers too large, a client too slow to send them) with the error contract, then closes
 * the connection, as Node itself does.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ErrorCode, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['request_timeout', 'the request was not received in time (--headers-timeout-ms, --request-timeout-ms); send it faster']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? ['headers_too_large', 'the request line and headers are too large (16 KiB at most); shorten the URL or the headers']
        : ['bad_request', `malformed HTTP request (${error.code ?? 'parse error'}); send a valid HTTP/1.1 request`];
  const status = ERROR_STATUS[code];
  const body = errorBody(code, message);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** Fastify's router errors (a bad percent-encoding, an over-long path segment) in the contract. */
export function frameworkErrors(error: Error & { code?: string }, _request: FastifyRequest, reply: FastifyReply): void {
  const [code, message]: [ErrorCode, string] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? ['invalid_id', 'a path segment is far too long; ids are 1 to 64 characters of A-Z a-z 0-9 _ -']
      : ['bad_request', 'the URL is not valid (bad percent-encoding); encode it with encodeURIComponent'];
  void reply.status(ERROR_STATUS[code]).type('application/json; charset=utf-8').send(errorBody(code, message));
}

/** Answers a request no route takes: 405 with `Allow` when its path has routes, else 404. */
export type NotFoundAnswer = (request: FastifyRequest, reply: FastifyReply) => FastifyReply;

/**
 * Requests no route takes: 405 with `Allow` when the path exists under another method, else 404.
 * The paths are matched against the routes' patterns, recorded as they are added. Returns the
 * answer, for the error handler: a body-carrying method no route takes (QUERY without a
 * Content-Type) fails in Fastify's body parsing before the not-found handler runs.
 */
export function registerNotFound(app: Api): NotFoundAnswer {
  const patterns: { regex: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    const source = `^${route.url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+').replace(/\*/g, '.*')}/?$`;
    let entry = patterns.find((p) => p.regex.source === source);
    if (entry === undefined) {
      entry = { regex: new RegExp(source), methods: new Set() };
      patterns.push(entry);
    }
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) entry.methods.add(String(method));
  });
  const answer: NotFoundAnswer = (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = new Set<string>();
    for (const p of patterns) if (p.regex.test(path)) for (const m of p.methods) allowed.add(m);
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(', ');
      return reply
        .status(405)
        .header('allow', allow)
        .send({ error: { code: 'method_not_allowed', message: `${request.method} is not allowed on ${path.slice(0, 200)}; allowed: ${allow}` } });
    }
    return reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${path.slice(0, 200)}; see /docs for the API` } });
  };
  app.setNotFoundHandler(answer);
  return answer;
}

/**
 * HTTP/1.1 requires a Host header (RFC 9112 section 3.2); Node's own refusal is an empty 400, so
 * the server takes such requests and this hook refuses them in the contract. Requests during
 * shutdown get 503 `not_ready` (Fastify's own 503 is outside the contract).
 */
export function registerRequestGuards(app: Api): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // A callback hook: no promise per request on the hot path.
  app.addHook('onRequest', (request, reply, done) => {
    if (closing) {
      void reply.header('connection', 'close').header('retry-after', '1');
      done(new TallyError('not_ready', 'this server is shutting down; retry (on another instance)', { retriable: true }));
      return;
    }
    if (request.headers.host === undefined && request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor === 1) {
      done(new TallyError('bad_request', 'HTTP/1.1 requests need a Host header'));
      return;
    }
    done();
  });
}
