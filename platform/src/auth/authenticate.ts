import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { authenticateHeader, requireRoles, type Principal, type Role, type TokenVerifier } from './jwt';

/**
 * Who may call a route: `'public'` (anyone, no token read), or the roles of
 * which the caller needs at least one (`[]`: any authenticated caller).
 */
export type AuthRequirement = 'public' | readonly Role[];

const principals = new WeakMap<IncomingMessage, Principal>();

export function principalOf(req: IncomingMessage): Principal | undefined {
  return principals.get(req);
}

/**
 * Express middleware for code outside the typed routes (the route kit does the
 * same through the `auth` option). 401 for a missing or bad token, 403 for a
 * caller without a required role.
 */
export function authenticate(verifier: TokenVerifier, requirement: AuthRequirement = []): RequestHandler {
  return async (req, _res, next) => {
    if (requirement !== 'public') {
      const principal = await authenticateRequest(verifier, req, requirement);
      principals.set(req, principal);
    }
    next();
  };
}

export async function authenticateRequest(
  verifier: TokenVerifier,
  req: IncomingMessage,
  roles: readonly Role[],
): Promise<Principal> {
  const principal = await authenticateHeader(verifier, req.headers.authorization);
  requireRoles(principal, roles);
  principals.set(req, principal);
  return principal;
}
