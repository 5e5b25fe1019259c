import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { pino, type Logger } from 'pino';
import type { TokenVerifier } from '../auth/jwt';
import { NotFoundError } from '../errors/errors';
import { healthRouter, type ReadinessCheck } from './health';
import type { IdempotencyStore } from './idempotency';
import { DEFAULT_BODY_LIMIT } from './json-body';
import { openApiDocument } from './openapi';
import { problemHandler } from './problem';
import { httpMetrics, scrape } from '../observability/metrics';
import { requestContext } from './request-context';
import { routersByVersion, type Route } from './routes';

/**
 * Express handlers outside the typed JSON routes (a static page, an event
 * stream), mounted under `path` after the routes and before the 404, so
 * their errors still leave as RFC 9457 problems.
 */
export interface HttpMount {
  /** Path prefix, e.g. `/dashboard`. */
  path: string;
  router: RequestHandler;
  /**
   * Ends what the mount keeps open (event streams). The service host calls
   * it before draining HTTP, which would otherwise wait on such responses
   * until its timeout.
   */
  close?(): void | Promise<void>;
}

export interface HttpAppOptions {
  /** Service name: the OpenAPI title and the logger name. */
  service: string;
  /** Service version for the OpenAPI `info.version`. */
  version: string;
  description?: string;
  routes: readonly Route[];
  readiness?: readonly ReadinessCheck[];
  logger?: Logger;
  /** Bytes, or a string such as `'256kb'`. 1 MB when absent. */
  bodyLimit?: number | string;
  /** Required as soon as one route is not public. */
  auth?: TokenVerifier;
  /** Required as soon as one route is idempotent. */
  idempotency?: IdempotencyStore;
  mounts?: readonly HttpMount[];
}

/**
 * A service's express app: `/healthz`, `/readyz`, and per API version
 * `/v<n>/...` routes plus `/v<n>/openapi.json`, then the `mounts`. Every error, whoever raises
 * it, leaves as an RFC 9457 problem. Misconfiguration (an authenticated route
 * without a verifier, a duplicate route) fails here, at start-up.
 */
export function createHttpApp(options: HttpAppOptions): Express {
  const logger = options.logger ?? pino({ name: options.service });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    const { traceId, spanId, sampled } = requestContext(req);
    // W3C Trace Context Level 2: the trace this response belongs to, to look it up.
    res.setHeader('traceresponse', `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`);
    const timer = httpMetrics.duration.startTimer();
    res.once('finish', () => {
      const labels = { method: req.method, route: routeLabel(req, res), status_code: String(res.statusCode) };
      const seconds = timer(labels);
      httpMetrics.requests.inc(labels);
      // The access log (debug): never the headers, which carry tokens.
      if (logger.isLevelEnabled('debug')) logger.debug({ method: req.method, route: labels.route, status: res.statusCode, ms: Math.round(seconds * 1_000) }, 'request');
    });
    next();
  });
  app.use(healthRouter(options.readiness ?? [], logger));
  app.get('/metrics', (_req, res, next) => {
    scrape().then(({ contentType, body }) => {
      res.setHeader('Content-Type', contentType).send(body);
    }, next);
  });

  const routers = routersByVersion(options.routes, {
    logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    verifier: options.auth,
    idempotency: options.idempotency,
  });
  for (const [version, router] of [...routers].sort(([a], [b]) => a - b)) {
    const document = openApiDocument(
      options.routes,
      { title: options.service, version: options.version, ...(options.description ? { description: options.description } : {}) },
      { version },
    );
    const prefix = express.Router();
    prefix.get('/openapi.json', (_req, res) => {
      res.json(document);
    });
    prefix.use(router);
    app.use(`/v${version}`, prefix);
  }
  for (const mount of options.mounts ?? []) {
    app.use(
      mount.path,
      (_req, res, next) => {
        res.locals.route ??= mount.path;
        next();
      },
      mount.router,
    );
  }

  app.use((req) => {
    throw new NotFoundError(`no resource at ${req.path}`);
  });
  app.use(problemHandler(logger));
  return app;
}

/**
 * The route template of a request, for metric labels (never the raw path,
 * whose ids would make a series per order): the typed route's template,
 * a mount's prefix, express's matched route, or `unmatched`.
 */
function routeLabel(req: Request, res: Response): string {
  const local = res.locals.route as unknown;
  if (typeof local === 'string') return local;
  const route = req.route as { path?: unknown } | undefined;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  return 'unmatched';
}
