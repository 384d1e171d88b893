import Fastify, { LogController, type FastifyError } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isTallyError, type ErrorCode } from '../../domain/errors.ts';
import { ERROR_STATUS } from './error-statuses.ts';
import type { Api, ApiDeps, ApiOptions } from './api-types.ts';
import { registerOpsRoutes } from './routes/ops-routes.ts';
import { registerReadRoutes } from './routes/read-routes.ts';
import { registerUserLikesRoutes } from './routes/user-likes-routes.ts';
import { registerDashboardRoutes } from './dashboard/dashboard-routes.ts';
import { registerStreamRoutes } from './routes/stream-routes.ts';
import { registerWriteRoutes } from './routes/write-routes.ts';
import { registerErasureRoutes } from './routes/erasure-routes.ts';
import { validatorCompiler } from './validators.ts';
import { registerAuth } from './auth/auth-hooks.ts';
import { clientErrorHandler, frameworkErrors, registerNotFound, registerRequestGuards } from './http-edges.ts';
import { rateLimitSettings, registerRateLimits } from './limits/rate-limits.ts';

/** The HTTP API v1 (README "HTTP API v1"), with OpenAPI at /docs. */
export async function buildApi(deps: ApiDeps, options: ApiOptions): Promise<Api> {
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    // Every answer keeps the error contract: these replace Fastify's and Node's own bodies.
    return503OnClosing: false,
    clientErrorHandler,
    frameworkErrors,
    forceCloseConnections: 'idle',
    // Slow or idle clients are cut off; a request that waits (?wait=applied) is not, since the
    // request has been received by then.
    http: {
      requireHostHeader: false,
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, options.headersTimeoutMs),
    },
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    trustProxy: trustProxy(options.trustProxy),
    // Plain JSON.parse (the scan for __proto__ keys costs ~4% of a bulk write); a body carrying
    // such a key still fails validation, since every schema forbids extra properties.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler());
  app.server.maxConnections = options.maxConnections;
  // Only JSON bodies are read: text/plain gets 415 like any other type.
  app.removeContentTypeParser('text/plain');

  const notFound = registerNotFound(app);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Tally HTTP API', version: '1', description: 'Exact, fresh likes counts. Errors are {"error": {"code", "message"}}; codes are listed in the README.' },
      ...(deps.verifier === undefined ? {} : { components: { securitySchemes: { bearerAuth: { type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT' } } } }),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (request.is404) return notFound(request, reply);
    const { code, message } = describeError(error);
    const status = ERROR_STATUS[code];
    if (status >= 500 && !(isTallyError(error) && error.retriable)) request.log.error({ err: error, url: request.url }, 'request failed');
    if (code === 'overloaded' || code === 'ingest_lagging' || code === 'too_many_streams') void reply.header('retry-after', '1');
    else if (code === 'backend_unavailable') void reply.header('retry-after', '2');
    // RFC 6750: no error attribute when the request sent no credentials.
    if (code === 'unauthenticated') void reply.header('www-authenticate', request.headers.authorization === undefined ? 'Bearer realm="tally"' : 'Bearer realm="tally", error="invalid_token"');
    return reply.status(status).send({ error: { code, message } });
  });
  registerRequestGuards(app);
  // Hook order: per-IP limit, token check, access policy, per-user limit.
  const addUserLimit = deps.buckets === undefined ? undefined : await registerRateLimits(app, deps.buckets, rateLimitSettings(options.rateLimitIp, options.rateLimitUser), deps.log);
  if (deps.verifier !== undefined) registerAuth(app, deps.verifier, { authReads: options.authReads, likers: options.likers, userLikes: options.userLikes });
  addUserLimit?.();

  registerWriteRoutes(app, deps, options);
  registerReadRoutes(app, deps, options);
  registerErasureRoutes(app, deps);
  registerUserLikesRoutes(app, deps);
  registerOpsRoutes(app, deps);
  if (deps.live !== undefined) {
    registerStreamRoutes(app, deps.live, options);
    registerDashboardRoutes(app, deps.live);
  }
  return app;
}

type ValidationProblem = NonNullable<FastifyError['validation']>[number];

/**
 * The schema's complaints in words a client can act on: the allowed values of a field that must
 * be one of a few (`body/events/0/op must be "like" or "unlike"`, where the validator says "must be
 * equal to constant" once per choice and then "must match a schema in anyOf"), and the name of a
 * property the API does not know.
 */
function validationMessage(where: string, problems: readonly ValidationProblem[]): string {
  const parts: { path: string; text: string; allowed?: unknown[] }[] = [];
  const choices = new Map<string, unknown[]>();
  for (const problem of problems) {
    const path = `${where}${problem.instancePath}`;
    const params = problem.params as { allowedValue?: unknown; allowedValues?: unknown[]; additionalProperty?: string };
    if (problem.keyword === 'const' || problem.keyword === 'enum') {
      const values = problem.keyword === 'const' ? [params.allowedValue] : (params.allowedValues ?? []);
      const known = choices.get(path);
      if (known !== undefined) known.push(...values);
      else {
        const allowed = [...values];
        choices.set(path, allowed);
        parts.push({ path, text: '', allowed });
      }
    } else if (problem.keyword === 'anyOf' && choices.has(path)) {
      continue;
    } else if (problem.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
      parts.push({ path, text: `has a property this API does not know: ${JSON.stringify(params.additionalProperty)}` });
    } else {
      parts.push({ path, text: problem.message ?? 'is not valid' });
    }
  }
  return parts
    .map(({ path, text, allowed }) => {
      if (allowed === undefined) return `${path} ${text}`;
      const quoted = allowed.map((v) => JSON.stringify(v));
      return `${path} must be ${quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted[0]}`;
    })
    .join(', ');
}

function describeError(error: FastifyError): { code: ErrorCode; message: string } {
  if (isTallyError(error)) return { code: error.code, message: error.message };
  if (error.validation !== undefined) {
    const where = error.validationContext ?? 'request';
    // A bad id in posts= or viewer= is an invalid id, as in the path (the pattern is in the OpenAPI document).
    const badPostList = where === 'querystring' && error.validation.some((v) => (v.instancePath === '/posts' || v.instancePath === '/viewer') && v.keyword === 'pattern');
    const code: ErrorCode = where === 'params' || badPostList ? 'invalid_id' : where === 'body' ? 'invalid_body' : where === 'querystring' ? 'invalid_query' : 'invalid_body';
    const hint =
      code === 'invalid_id'
        ? 'ids are 1 to 64 characters of A-Z a-z 0-9 _ -'
        : code === 'invalid_body'
          ? 'expected {"events": [{"op": "like"|"unlike", "postId": "...", "userId": "..."}]}'
          : 'see /docs for the allowed query parameters';
    return { code, message: `${validationMessage(where, error.validation)}; ${hint}` };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'body_too_large', message: `${error.message}; split the batch into smaller requests` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type', message: `${error.message}; send Content-Type: application/json` };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'invalid_json', message: `${error.message}; the body must be valid JSON` };
    default:
      break;
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return { code: 'invalid_json', message: `the body is not valid JSON: ${error.message}` };
  }
  const byStatus = error.statusCode !== undefined ? CLIENT_ERROR_CODES[error.statusCode] : undefined;
  if (byStatus !== undefined) return { code: byStatus, message: error.message };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return { code: 'bad_request', message: error.message };
  return { code: 'internal', message: 'internal error; the server log has the details' };
}

/** Framework errors that carry a 4xx status are client mistakes: never an `internal` 500. */
const CLIENT_ERROR_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
};

/** `--trust-proxy` for Fastify: false, or the proxies' addresses and CIDRs. */
function trustProxy(value: string): boolean | string[] {
  return value === 'false' ? false : value.split(',');
}
