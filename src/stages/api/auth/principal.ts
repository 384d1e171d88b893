/** The scopes a service token may carry (space-separated in its `scope` claim, as in RFC 9068). */
export const SCOPES = ['likes:write', 'likers:read', 'admin'] as const;

export type Scope = (typeof SCOPES)[number];

/**
 * Who made a request, once its token is verified. A token with a `scope` claim is a service
 * token (a back-end of the platform); a token without one is an end user's, acting only as `sub`.
 */
export type Principal =
  | { readonly kind: 'user'; readonly sub: string }
  | { readonly kind: 'service'; readonly sub: string; readonly scopes: ReadonlySet<string> };

/** True when the principal is a service token carrying `scope`. */
export function hasScope(principal: Principal | undefined, scope: Scope): boolean {
  return principal?.kind === 'service' && principal.scopes.has(scope);
}
