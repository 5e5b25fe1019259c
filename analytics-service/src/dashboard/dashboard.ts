import type { Logger } from 'pino';
import { MethodNotAllowedError, authenticateRequest, type HttpMount, type TokenVerifier } from '@shop/platform';
import type { ReadModels } from '../read-models/read-models';
import { ProjectionChangeStream, type ChangeStreamOptions } from './change-stream';
import { buildDashboardAssets, type DashboardAssets } from './dashboard-assets';

export const DASHBOARD_PATH = '/dashboard';
export const STREAM_PATH = '/v1/stream';

// The page holds no data, so it is public; everything it shows comes from the
// admin API. Nothing but this origin may be loaded or called from it.
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Rebuilt at each start-up: revalidate rather than keep a stale bundle.
  'Cache-Control': 'no-cache',
};

type Handler = HttpMount['router'];

export interface DashboardOptions {
  readModels: ReadModels;
  verifier: TokenVerifier;
  logger: Logger;
  stream?: Omit<ChangeStreamOptions, 'onError'>;
}

/**
 * The dashboard: its page at `/dashboard` (HTML, script, style sheet, built
 * in memory when the service starts) and the admin-only event stream at
 * `/v1/stream` that tells the page when projections move.
 */
export function dashboardMounts(options: DashboardOptions): HttpMount[] {
  const { logger } = options;
  const assets = buildDashboardAssets();
  assets.then(
    ({ buildMs, js }) => logger.info({ buildMs, bytes: js.byteLength }, 'dashboard bundle built'),
    (err: unknown) => logger.error({ err }, 'dashboard bundle failed to build; /dashboard answers 500'),
  );
  const changes = new ProjectionChangeStream(() => options.readModels.status(), {
    ...options.stream,
    onError: (err) => logger.warn({ err }, 'reading projection status for the dashboard stream failed; retrying'),
  });
  return [
    { path: DASHBOARD_PATH, router: pageHandler(assets) },
    { path: STREAM_PATH, router: streamHandler(options.verifier, changes), close: () => changes.close() },
  ];
}

/**
 * The prefix a gateway stripped before the request reached the service
 * (Traefik's StripPrefix sets `X-Forwarded-Prefix`, e.g. `/analytics`), so
 * the page links its script and style sheet where the browser can fetch
 * them. Only plain path segments are taken: anything else is ignored, never
 * echoed into the page.
 */
export function forwardedPrefix(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^(\/[A-Za-z0-9._~-]+)+$/.test(value) && !/\/\.\.?(\/|$)/.test(value) ? value : '';
}

const withPrefix = (html: string, prefix: string) => (prefix ? html.replaceAll(`="${DASHBOARD_PATH}/`, `="${prefix}${DASHBOARD_PATH}/`) : html);

const ASSET_TYPES: Record<string, { type: string; body: (a: DashboardAssets, prefix: string) => string | Uint8Array }> = {
  '/': { type: 'text/html; charset=utf-8', body: (a, prefix) => withPrefix(a.html, prefix) },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: (a) => a.js },
  '/app.css': { type: 'text/css; charset=utf-8', body: (a) => a.css },
};

function pageHandler(assets: Promise<DashboardAssets>): Handler {
  return async (req, res, next) => {
    const asset = ASSET_TYPES[req.path];
    if (!asset) return next();
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS').status(204).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new MethodNotAllowedError(`${req.method} is not allowed on this resource`, ['GET', 'HEAD', 'OPTIONS']);
    }
    const body = asset.body(await assets, forwardedPrefix(req.headers['x-forwarded-prefix']));
    res.status(200).set(PAGE_HEADERS).type(asset.type);
    res.send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  };
}

function streamHandler(verifier: TokenVerifier, changes: ProjectionChangeStream): Handler {
  return async (req, res, next) => {
    if (req.path !== '/') return next();
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', 'GET, OPTIONS').status(204).end();
      return;
    }
    if (req.method !== 'GET') throw new MethodNotAllowedError(`${req.method} is not allowed on this resource`, ['GET', 'OPTIONS']);
    await authenticateRequest(verifier, req, ['admin']);
    await changes.open(res);
  };
}
