import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTokenVerifier, signToken, type AuthSettings } from '../src/auth/jwt';
import { createHttpApp } from '../src/http/http-app';
import { startHttpServer, type RunningHttpServer } from '../src/http/http-server';
import { defineRoute } from '../src/http/routes';

const run = promisify(execFile);
const repoRoot = path.join(import.meta.dirname, '..', '..');
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

const settings: AuthSettings = {
  secret: 'auth-test-secret-with-more-than-32-bytes!',
  issuer: 'urn:shop:auth',
  audience: 'urn:shop:api',
};
const key = new TextEncoder().encode(settings.secret);

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const inOneHour = () => Math.floor(Date.now() / 1000) + 3600;

const routes = [
  defineRoute({
    method: 'GET',
    path: '/admin/whoami',
    summary: 'Admins only',
    auth: ['admin'],
    responses: { 200: z.object({ subject: z.string(), roles: z.array(z.string()) }) },
    handler: ({ auth }) => ({ status: 200, body: { subject: auth.subject, roles: [...auth.roles] } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/me',
    summary: 'Any authenticated caller',
    responses: { 200: z.object({ subject: z.string() }) },
    handler: ({ auth }) => ({ status: 200, body: { subject: auth.subject } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/public',
    summary: 'Anyone',
    auth: 'public',
    responses: { 200: z.object({ authenticated: z.boolean() }) },
    handler: ({ auth }) => ({ status: 200, body: { authenticated: auth !== undefined } }),
  }),
];

describe('JWT auth', () => {
  let server: RunningHttpServer;

  beforeAll(async () => {
    const app = createHttpApp({
      service: 'auth-test',
      version: '0.0.0',
      routes,
      auth: createTokenVerifier(settings),
      logger: pino({ level: 'silent' }),
    });
    server = await startHttpServer(app);
  });
  afterAll(() => server?.close());

  const call = (headers: Record<string, string> = {}, route = '/v1/admin/whoami') =>
    fetch(`${server.url}${route}`, { headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const invalid = /^Bearer realm="shop", error="invalid_token", error_description="[^"]+"$/;

  async function expectUnauthorized(res: Response, challenge: RegExp): Promise<string> {
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('www-authenticate')).toMatch(challenge);
    const problem = (await res.json()) as { type: string; status: number; detail: string; instance: string };
    expect(problem).toMatchObject({ type: 'urn:shop:problem:unauthorized', status: 401, instance: '/v1/admin/whoami' });
    return problem.detail;
  }

  describe('when the request carries no bearer token', () => {
    it('answers 401 with a bare Bearer challenge when the header is missing', async () => {
      const detail = await expectUnauthorized(await call(), /^Bearer realm="shop"$/);
      expect(detail).toBe('missing bearer token');
    });

    it('answers 401 to another scheme', async () => {
      await expectUnauthorized(await call({ authorization: 'Basic YWxpY2U6c2VjcmV0' }), /^Bearer realm="shop"$/);
    });
  });

  describe('when the token is bad', () => {

    it.each([
      ['an empty Bearer header', 'Bearer '],
      ['a token with spaces', 'Bearer abc def'],
      ['garbage', 'Bearer not-a-jwt'],
      ['three garbage segments', 'Bearer aaa.bbb.ccc'],
    ])('answers 401 to %s', async (_case, header) => {
      await expectUnauthorized(await call({ authorization: header }), invalid);
    });

    it('answers 401 to an expired token', async () => {
      const token = await signToken({ sub: 'alice', roles: ['admin'], ttl: '1h', issuedAt: new Date(Date.now() - 2 * 3_600_000) }, settings);
      expect(await expectUnauthorized(await call(bearer(token)), invalid)).toBe('token expired');
    });

    it('answers 401 to an unsigned token (alg: none)', async () => {
      const payload = { sub: 'mallory', roles: ['admin'], iss: settings.issuer, aud: settings.audience, exp: inOneHour() };
      const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payload)}.`;
      await expectUnauthorized(await call(bearer(token)), invalid);
    });

    it('answers 401 to a token signed with another key', async () => {
      const token = await signToken({ sub: 'mallory', roles: ['admin'] }, { ...settings, secret: 'another-secret-that-is-also-32-bytes-long' });
      expect(await expectUnauthorized(await call(bearer(token)), invalid)).toBe('token signature is invalid');
    });

    it('answers 401 to a token signed with the right key under another algorithm (HS512)', async () => {
      const token = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS512' })
        .setSubject('mallory')
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setExpirationTime(inOneHour())
        .sign(key);
      expect(await expectUnauthorized(await call(bearer(token)), invalid)).toBe('token algorithm not allowed');
    });

    it('answers 401 to a token for another audience', async () => {
      const token = await signToken({ sub: 'alice', roles: ['admin'] }, { ...settings, audience: 'urn:other:api' });
      expect(await expectUnauthorized(await call(bearer(token)), invalid)).toBe('token "aud" claim does not match');
    });

    it('answers 401 to a token from another issuer', async () => {
      const token = await signToken({ sub: 'alice', roles: ['admin'] }, { ...settings, issuer: 'urn:other:auth' });
      expect(await expectUnauthorized(await call(bearer(token)), invalid)).toBe('token "iss" claim does not match');
    });

    it('answers 401 to a token without an expiry', async () => {
      const token = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .sign(key);
      expect(await expectUnauthorized(await call(bearer(token)), invalid)).toBe('token "exp" claim is missing');
    });

    it('answers 401 to a token with a role the platform does not know', async () => {
      const token = await new SignJWT({ roles: ['superuser'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setExpirationTime(inOneHour())
        .sign(key);
      expect(await expectUnauthorized(await call(bearer(token)), invalid)).toBe('token claims are invalid');
    });
  });

  describe('when the token is valid', () => {
    it('answers 403 to a customer on an admin route', async () => {
      const token = await signToken({ sub: 'bob', roles: ['customer'] }, settings);
      const res = await call(bearer(token));
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ type: 'urn:shop:problem:forbidden', status: 403, detail: 'requires role admin' });
    });

    it('lets an admin in and gives the handler the subject and roles', async () => {
      const token = await signToken({ sub: 'alice', roles: ['admin'] }, settings);
      const res = await call(bearer(token));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ subject: 'alice', roles: ['admin'] });
    });

    it('accepts the scheme name in any case', async () => {
      const token = await signToken({ sub: 'alice', roles: ['admin'] }, settings);
      expect((await call({ authorization: `bearer ${token}` })).status).toBe(200);
    });

    it('lets any role in when the route names none, and nobody without a token', async () => {
      const token = await signToken({ sub: 'bob', roles: ['customer'] }, settings);
      const res = await call(bearer(token), '/v1/me');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ subject: 'bob' });
      expect((await call({}, '/v1/me')).status).toBe(401);
    });

    it('does not read tokens on public routes', async () => {
      const res = await call({ authorization: 'Bearer garbage' }, '/v1/public');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ authenticated: false });
    });
  });
});

describe('token CLI', () => {
  const env = (extra: Record<string, string>) => {
    const base = { ...process.env };
    for (const name of ['AUTH_JWT_SECRET', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'SHOP_ENV', 'NODE_ENV']) delete base[name];
    return { ...base, ...extra };
  };

  it('prints a token signed with the key from the environment', async () => {
    const { stdout } = await run(tsx, ['platform/src/auth/issue-token.ts', '--role', 'admin', '--sub', 'alice', '--ttl', '10m'], {
      cwd: repoRoot,
      env: env({ SHOP_ENV: 'production', AUTH_JWT_SECRET: settings.secret, AUTH_ISSUER: settings.issuer, AUTH_AUDIENCE: settings.audience }),
    });
    const token = stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(await createTokenVerifier(settings).verify(token)).toEqual({ subject: 'alice', roles: ['admin'] });
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
    expect(claims.exp - claims.iat).toBe(600);
  });

  it('refuses to sign without a key outside dev mode', async () => {
    const failure = await run(tsx, ['platform/src/auth/issue-token.ts', '--role', 'admin', '--sub', 'alice'], {
      cwd: repoRoot,
      env: env({ SHOP_ENV: 'production' }),
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect(failure).toMatchObject({ code: 1, stdout: '' });
    expect((failure as { stderr: string }).stderr).toContain('AUTH_JWT_SECRET: required outside development mode');
  });

  it('refuses an unknown role', async () => {
    const failure = await run(tsx, ['platform/src/auth/issue-token.ts', '--role', 'root', '--sub', 'alice'], {
      cwd: repoRoot,
      env: env({ SHOP_ENV: 'development' }),
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect(failure).toMatchObject({ code: 2, stdout: '' });
    expect((failure as { stderr: string }).stderr).toContain('unknown role root');
  });
});
