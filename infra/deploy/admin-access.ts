/**
 * Where an operator tool (the auditor, the dead-letter console) finds the
 * five services' admin APIs and how it signs its admin token:
 * `--stack-file` (default `.data/stack.json`, what `npm start` writes; the
 * signing key from `credentials.json` beside it), or `--gateway URL`
 * (compose's Traefik or the K3s ingress) with `AUTH_JWT_SECRET` (and
 * `AUTH_ISSUER`, `AUTH_AUDIENCE`) in the environment.
 */
import path from 'node:path';
import { authConfigShape, loadConfig, signToken } from '@shop/platform';
import { GATEWAY_PREFIXES, readStackFile } from './smoke-order';

export type ServiceKey = keyof typeof GATEWAY_PREFIXES;
export type ServiceTargets = Record<ServiceKey, string>;
export const SERVICE_KEYS = Object.keys(GATEWAY_PREFIXES) as ServiceKey[];

export interface AdminAuth {
  secret: string;
  issuer: string;
  audience: string;
}

/** The five services' URLs and the signing key of a local stack, from its `stack.json` and `credentials.json`. */
export async function stackTargets(file: string): Promise<{ targets: ServiceTargets; secret: string }> {
  const { url, secret } = await readStackFile(file);
  return { targets: Object.fromEntries(SERVICE_KEYS.map((k) => [k, url(`${k}-service`)])) as ServiceTargets, secret };
}

/** The targets and signing settings from `--stack-file` / `--gateway` and the environment. */
export async function adminAccess(options: { stackFile?: string | undefined; gateway?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Promise<{ targets: ServiceTargets; auth: AdminAuth }> {
  let targets: ServiceTargets;
  let secret: string | undefined;
  if (options.gateway) {
    const base = options.gateway.replace(/\/+$/, '');
    targets = Object.fromEntries(SERVICE_KEYS.map((k) => [k, base + GATEWAY_PREFIXES[k]])) as ServiceTargets;
  } else {
    ({ targets, secret } = await stackTargets(options.stackFile ?? path.resolve('.data', 'stack.json')));
  }
  const auth = loadConfig(authConfigShape, { ...env, ...(secret ? { AUTH_JWT_SECRET: secret } : {}) });
  return { targets, auth: { secret: auth.AUTH_JWT_SECRET, issuer: auth.AUTH_ISSUER, audience: auth.AUTH_AUDIENCE } };
}

/** An admin token for `subject` (who the services record as having acted). */
export function adminToken(auth: AdminAuth, subject: string, ttl = '15m'): Promise<string> {
  return signToken({ sub: subject, roles: ['admin'], ttl }, auth);
}
