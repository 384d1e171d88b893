import { TallyError } from '../../../domain/errors.ts';
import type { Api } from '../api-types.ts';
import { authorize, needsToken, routeAccess, type Access, type AccessSettings } from './access-policy.ts';
import type { Principal } from './principal.ts';
import type { TokenVerifier } from './token-verifier.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's access rule (auth/access-policy.ts), set when the route is added. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The verified caller, when the request carried a valid bearer token. */
    principal: Principal | undefined;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i;

/**
 * Bearer-token authentication and the access policy. Call before the routes are added: every
 * route gets its access rule. The token is verified as the request arrives (401 before its body
 * is read); the policy runs once params and query are validated (403 before the handler).
 */
export function registerAuth(app: Api, verifier: TokenVerifier, settings: AccessSettings): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const access = routeAccess(String(methods[0]), route.url);
    route.config = { ...route.config, access };
    // The OpenAPI document says which routes take a bearer token ({} = may go without one).
    if (access !== 'public' && route.schema !== undefined) {
      route.schema = { ...route.schema, security: needsToken(access, settings) ? [{ bearerAuth: [] }] : [{}, { bearerAuth: [] }] };
    }
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const header = request.headers.authorization;
    if (header === undefined) {
      if (needsToken(access, settings)) throw new TallyError('unauthenticated', 'this request needs a bearer token: send Authorization: Bearer <JWT>');
      return;
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) throw new TallyError('unauthenticated', 'the Authorization header must be "Bearer <JWT>"');
    request.principal = await verifier.verify(token);
  });

  app.addHook('preHandler', async (request) => {
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const params = request.params as { userId?: string } | undefined;
    const query = request.query as { viewer?: string } | undefined;
    authorize(access, request.principal, { userId: params?.userId, viewer: query?.viewer }, settings);
  });
}
