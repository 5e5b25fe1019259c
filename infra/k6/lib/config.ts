/**
 * Where the services are and who calls them, from the environment (`__ENV`,
 * `k6 run -e NAME=value` or the shell's variables).
 *
 *   K6_TARGET=local    each service on its own port of 127.0.0.1 (`npm start`)
 *   K6_TARGET=compose  the Traefik gateway of docker-compose.yml, GATEWAY_URL (http://127.0.0.1:8080)
 *   K6_TARGET=k3s      the K3s Traefik ingress, GATEWAY_URL (http://localhost:8080, k3d's -p "8080:80@loadbalancer")
 *
 * CATALOG_URL, INVENTORY_URL, ORDER_URL, COORDINATOR_URL, ANALYTICS_URL
 * override one service's base URL (whatever the target; the base is what
 * `/v1/...` is appended to). `/healthz`, `/readyz` and `/metrics` are not
 * routed by the gateway or the ingress: on compose and k3s they are read only
 * when CATALOG_OPS_URL etc. name a service's own address (a port-forward).
 *
 * CUSTOMER_TOKEN and ADMIN_TOKEN are the output of the token command
 * (platform/src/auth/issue-token.ts), e.g.
 *   ADMIN_TOKEN=$(npm run -s token -- --role admin --sub k6-admin --ttl 2h)
 * signed with the deployment's AUTH_JWT_SECRET.
 */

/** The environment k6 gives the script (`{}` where there is none). */
export function env(): Record<string, string | undefined> {
  return typeof __ENV === 'undefined' ? {} : __ENV;
}

export const SERVICES = ['catalog', 'inventory', 'order', 'coordinator', 'analytics'] as const;
export type Service = (typeof SERVICES)[number];
export type Target = 'local' | 'compose' | 'k3s';

/**
 * The local stack's ports: `SERVICES` in infra/local/stack.ts (keep in step).
 * `npm start` takes another free port when one is taken; then set that
 * service's URL from the `services` of its `stack.json`.
 */
export const LOCAL_PORTS: Record<Service, number> = { catalog: 4001, inventory: 4002, order: 4003, coordinator: 4004, analytics: 4005 };

/**
 * The public path prefix of each service behind the gateway and the ingress,
 * stripped before the request reaches the service: infra/compose/traefik/dynamic.yml,
 * infra/k8s/overlays/k3s/ingress.yaml and strip-prefix.yaml (GATEWAY_PREFIXES in infra/deploy/smoke-order.ts).
 */
export const GATEWAY_PREFIXES: Record<Service, string> = {
  catalog: '/catalog',
  inventory: '/inventory',
  order: '/order',
  coordinator: '/coordinator',
  analytics: '/analytics',
};

/** The gateway's published address: docker-compose.yml `gateway` (127.0.0.1:8080), infra/k8s/README.md's k3d cluster (-p "8080:80@loadbalancer"). */
export const DEFAULT_GATEWAY: Record<Exclude<Target, 'local'>, string> = {
  compose: 'http://127.0.0.1:8080',
  k3s: 'http://localhost:8080',
};

export interface Targets {
  target: Target;
  gateway?: string;
  /** Base URL per service; `/v1/...` is appended. */
  api: Record<Service, string>;
  /** The service's own address for /healthz, /readyz and /metrics, when reachable. */
  ops: Partial<Record<Service, string>>;
}

const strip = (url: string) => url.replace(/\/+$/, '');
const envName = (service: Service, suffix: string) => `${service.toUpperCase()}_${suffix}`;

export function resolveTargets(e: Record<string, string | undefined> = env()): Targets {
  const raw = (e.K6_TARGET ?? 'local').trim() || 'local';
  if (raw !== 'local' && raw !== 'compose' && raw !== 'k3s') {
    throw new Error(`K6_TARGET=${raw}: expected local, compose or k3s`);
  }
  const target: Target = raw;
  const gateway = target === 'local' ? undefined : strip(e.GATEWAY_URL || DEFAULT_GATEWAY[target]);
  const api = {} as Record<Service, string>;
  const ops: Partial<Record<Service, string>> = {};
  for (const s of SERVICES) {
    const override = e[envName(s, 'URL')];
    const base = override ? strip(override) : gateway ? gateway + GATEWAY_PREFIXES[s] : `http://127.0.0.1:${LOCAL_PORTS[s]}`;
    api[s] = base;
    const opsOverride = e[envName(s, 'OPS_URL')];
    if (opsOverride) ops[s] = strip(opsOverride);
    else if (target === 'local') ops[s] = base;
  }
  return { target, ...(gateway ? { gateway } : {}), api, ops };
}

// --- tokens -------------------------------------------------------------

export interface TokenInfo {
  token: string;
  sub: string;
  roles: string[];
  /** Expiry, epoch seconds. */
  exp?: number;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes base64url to a string (UTF-8). */
export function base64UrlDecode(input: string): string {
  const s = input.replace(/-/g, '+').replace(/_/g, '/');
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const c of s) {
    if (c === '=') break;
    const v = B64.indexOf(c);
    if (v < 0) throw new Error('not base64url');
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    let cp: number;
    let n: number;
    if (b < 0x80) [cp, n] = [b, 1];
    else if (b >= 0xf0) [cp, n] = [b & 0x07, 4];
    else if (b >= 0xe0) [cp, n] = [b & 0x0f, 3];
    else [cp, n] = [b & 0x1f, 2];
    for (let k = 1; k < n; k++) cp = (cp << 6) | ((bytes[i + k] ?? 0) & 0x3f);
    out += String.fromCodePoint(cp);
    i += n;
  }
  return out;
}

/** The claims of a JWT (not verified: the services verify it; this only explains a wrong token early). */
export function decodeToken(token: string): TokenInfo | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(base64UrlDecode(part)) as { sub?: unknown; roles?: unknown; exp?: unknown };
    if (typeof claims.sub !== 'string') return undefined;
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
    return { token, sub: claims.sub, roles, ...(typeof claims.exp === 'number' ? { exp: claims.exp } : {}) };
  } catch {
    return undefined;
  }
}

export const TOKEN_HELP = [
  'Get tokens with the token command, signed with the deployment\'s AUTH_JWT_SECRET:',
  '  npm start:  export AUTH_JWT_SECRET=$(node -p "require(\'./.data/credentials.json\').authJwtSecret")   (the path npm start prints)',
  '  compose:    set -a; . ./.env; set +a',
  '  k3s:        export $(grep AUTH_JWT_SECRET infra/k8s/overlays/k3s/secrets/jwt-signing-key.env)',
  '  then: export CUSTOMER_TOKEN=$(npm run -s token -- --role customer --sub k6-customer --ttl 2h)',
  '        export ADMIN_TOKEN=$(npm run -s token -- --role admin --sub k6-admin --ttl 2h)',
].join('\n');

/**
 * The tokens a scenario needs, checked before anything is sent: present,
 * a JWT with a subject, the right role, and not expiring within `validForMs`.
 * Throws one error naming every problem and how to get tokens.
 */
export function requireTokens(
  needs: { customer?: boolean; admin?: boolean },
  options: { validForMs?: number; nowMs?: number; env?: Record<string, string | undefined> } = {},
): { customer?: TokenInfo; admin?: TokenInfo } {
  const e = options.env ?? env();
  const now = options.nowMs ?? Date.now();
  const problems: string[] = [];
  const out: { customer?: TokenInfo; admin?: TokenInfo } = {};
  const one = (variable: string, role: 'customer' | 'admin'): TokenInfo | undefined => {
    const token = (e[variable] ?? '').trim();
    if (!token) {
      problems.push(`${variable} is not set`);
      return undefined;
    }
    const info = decodeToken(token);
    if (!info) {
      problems.push(`${variable} is not a JWT with a subject (is it the token command's output?)`);
      return undefined;
    }
    if (info.roles.indexOf(role) < 0) problems.push(`${variable} has roles [${info.roles.join(', ')}], not ${role}`);
    if (info.exp !== undefined && info.exp * 1000 < now + (options.validForMs ?? 0)) {
      const left = Math.round(info.exp - now / 1000);
      problems.push(`${variable} ${left <= 0 ? 'has expired' : `expires in ${left} s, before the run ends`}: issue one with a longer --ttl`);
    }
    return info;
  };
  if (needs.customer) {
    const t = one('CUSTOMER_TOKEN', 'customer');
    if (t) out.customer = t;
  }
  if (needs.admin) {
    const t = one('ADMIN_TOKEN', 'admin');
    if (t) out.admin = t;
  }
  if (problems.length > 0) throw new Error(`cannot run: ${problems.join('; ')}.\n${TOKEN_HELP}`);
  return out;
}

// --- knobs --------------------------------------------------------------

/** `250ms`, `30s`, `5m`, `1h`, `1h30m`, or a number of milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1_000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    consumed += m[0].length;
  }
  return consumed === t.length && consumed > 0 ? total : undefined;
}

export function numberEnv(name: string, fallback: number, e: Record<string, string | undefined> = env()): number {
  const raw = e[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name}=${raw}: expected a number`);
  return n;
}

/** A duration variable, as k6 wants it in options (`"2m"`) and in milliseconds. */
export function durationEnv(name: string, fallback: string, e: Record<string, string | undefined> = env()): { text: string; ms: number } {
  const raw = (e[name] ?? '').trim() || fallback;
  const ms = parseDurationMs(raw);
  if (ms === undefined) throw new Error(`${name}=${raw}: expected a duration such as 30s, 5m or 1h`);
  return { text: /^\d+$/.test(raw) ? `${raw}ms` : raw, ms };
}

export function flagEnv(name: string, fallback: boolean, e: Record<string, string | undefined> = env()): boolean {
  const raw = (e[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallback;
  return !(raw === '0' || raw === 'false' || raw === 'no' || raw === 'off');
}

/** Where handleSummary writes `<scenario>-summary.json` and `<scenario>-report.md` (relative to the directory k6 runs in). */
export const reportDir = (e: Record<string, string | undefined> = env()): string => strip((e.K6_REPORT_DIR ?? '').trim() || 'infra/k6/reports');

/** A short id for the run: upper-case letters and digits (it goes into SKUs). */
export function newRunId(nowMs: number = Date.now()): string {
  const time = nowMs.toString(36).toUpperCase().slice(-5);
  let rand = '';
  for (let i = 0; i < 3; i++) rand += '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'.charAt(Math.floor(Math.random() * 36));
  return time + rand;
}
