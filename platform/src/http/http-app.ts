import express, { type Express, type RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import type { TokenVerifier } from '../auth/jwt';
import { NotFoundError } from '../errors/errors';
import { healthRouter, type ReadinessCheck } from './health';
import type { IdempotencyStore } from './idempotency';
import { DEFAULT_BODY_LIMIT } from './json-body';
import { openApiDocument } from './openapi';
import { problemHandler } from './problem';
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

  app.use((req, _res, next) => {
    requestContext(req);
    next();
  });
  app.use(healthRouter(options.readiness ?? []));

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
  for (const mount of options.mounts ?? []) app.use(mount.path, mount.router);

  app.use((req) => {
    throw new NotFoundError(`no resource at ${req.path}`);
  });
  app.use(problemHandler(logger));
  return app;
}
