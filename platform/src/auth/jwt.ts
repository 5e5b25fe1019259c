import { randomUUID } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import { z } from 'zod';
import { parseDuration } from '../config/config';
import { ForbiddenError, UnauthorizedError } from '../errors/errors';

export const ROLES = ['customer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: `subject` is the token's `sub` (for a customer, the customer id). */
export interface Principal {
  subject: string;
  roles: readonly Role[];
}

export interface AuthSettings {
  /** HS256 key, at least 32 bytes of UTF-8. Comes from the environment only. */
  secret: string;
  issuer: string;
  audience: string;
  /** Allowed clock skew for `exp`/`nbf`; 5 s when absent. */
  clockToleranceSeconds?: number;
}

export function authSettingsFromConfig(config: {
  AUTH_JWT_SECRET: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
}): AuthSettings {
  return { secret: config.AUTH_JWT_SECRET, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE };
}

export interface TokenVerifier {
  /** Resolves to the caller, or rejects with `UnauthorizedError`. */
  verify(token: string): Promise<Principal>;
}

const claimsSchema = z.object({
  sub: z.string().min(1),
  roles: z.array(z.enum(ROLES)),
});

function keyOf(settings: AuthSettings): Uint8Array {
  const key = new TextEncoder().encode(settings.secret);
  // HS256 with a short key is brute-forceable offline from any one token.
  if (key.byteLength < 32) throw new Error('the JWT signing key must be at least 32 bytes');
  return key;
}

/**
 * Only HS256 is accepted: pinning the algorithm is what stops `alg: none`
 * and algorithm-confusion tokens, whatever their header says.
 */
export function createTokenVerifier(settings: AuthSettings): TokenVerifier {
  const key = keyOf(settings);
  const options = {
    algorithms: ['HS256'],
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockToleranceSeconds ?? 5,
    requiredClaims: ['exp', 'sub'],
  };
  return {
    async verify(token) {
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, key, options));
      } catch (err) {
        throw new UnauthorizedError(describeJoseError(err), { error: 'invalid_token' });
      }
      const claims = claimsSchema.safeParse(payload);
      if (!claims.success) throw new UnauthorizedError('token claims are invalid', { error: 'invalid_token' });
      return { subject: claims.data.sub, roles: claims.data.roles };
    },
  };
}

function describeJoseError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    const what = err.reason === 'missing' ? 'is missing' : err.reason === 'check_failed' ? 'does not match' : 'is invalid';
    return `token "${err.claim}" claim ${what}`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof errors.JOSEError) return 'token is malformed';
  // Not a token problem: a bug or a broken runtime. Let it surface as a 500.
  throw err;
}

export interface TokenClaims {
  sub: string;
  roles: readonly Role[];
  /** Seconds, or a duration such as `15m`, `1h`. One hour when absent. */
  ttl?: number | string;
  /** Defaults to now; set it in the past to make a token that is already expired. */
  issuedAt?: Date;
}

export async function signToken(claims: TokenClaims, settings: AuthSettings): Promise<string> {
  const ttlSeconds = typeof claims.ttl === 'number' ? claims.ttl : ttlToSeconds(claims.ttl ?? '1h');
  const iat = Math.floor((claims.issuedAt ?? new Date()).getTime() / 1000);
  const roles = claimsSchema.shape.roles.parse(claims.roles);
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .setJti(randomUUID())
    .sign(keyOf(settings));
}

function ttlToSeconds(ttl: string): number {
  const ms = parseDuration(ttl);
  if (ms === undefined || ms < 1000) throw new Error(`invalid token ttl "${ttl}": use e.g. 15m, 1h, 7d`);
  return Math.floor(ms / 1000);
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The caller named by an `Authorization: Bearer` header. No header, or
 * another scheme, gets a bare challenge (RFC 6750 §3.1: no error code when the
 * request carries no bearer credentials); a bad token gets `invalid_token`.
 */
export async function authenticateHeader(verifier: TokenVerifier, header: string | undefined): Promise<Principal> {
  if (header === undefined || header.trim() === '') throw new UnauthorizedError('missing bearer token');
  if (!/^Bearer(\s|$)/i.test(header)) throw new UnauthorizedError('expected an Authorization: Bearer token');
  const match = BEARER.exec(header);
  if (!match) throw new UnauthorizedError('malformed bearer token', { error: 'invalid_token' });
  return verifier.verify(match[1]!);
}

/** An empty `roles` list admits any authenticated caller. */
export function requireRoles(principal: Principal, roles: readonly Role[]): void {
  if (roles.length === 0 || roles.some((role) => principal.roles.includes(role))) return;
  throw new ForbiddenError(`requires role ${roles.join(' or ')}`);
}
