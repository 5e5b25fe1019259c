import type { IncomingHttpHeaders } from 'node:http';
import express, { type Request, type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { authenticateRequest, type AuthRequirement } from '../auth/authenticate';
import type { Principal, TokenVerifier } from '../auth/jwt';
import { MethodNotAllowedError } from '../errors/errors';
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey, requestHash, type IdempotencyStore } from './idempotency';
import { jsonBody } from './json-body';
import { instanceOf, problemFromError, sendResponse, type HttpResponse } from './problem';
import { requestContext } from './request-context';
import { validateRequest } from './validation';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** zod schemas for the parts of a request; params, query and headers must be objects. */
export interface RequestSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  headers?: z.ZodType;
  body?: z.ZodType;
}

/** Status → body schema; `null` for a response without a body (e.g. 204). */
export type ResponseSchemas = Record<number, z.ZodType | null>;

type Part<R, K extends keyof RequestSchemas, Default> = R extends { [P in K]: infer S }
  ? S extends z.ZodType
    ? z.output<S>
    : Default
  : Default;

export interface HandlerContext<R extends RequestSchemas, A extends AuthRequirement> {
  params: Part<R, 'params', Record<string, string>>;
  query: Part<R, 'query', Record<string, unknown>>;
  headers: Part<R, 'headers', IncomingHttpHeaders>;
  body: Part<R, 'body', unknown>;
  /** The caller; always present unless the route is public. */
  auth: A extends 'public' ? Principal | undefined : Principal;
  traceId: string;
  logger: Logger;
  /** The raw request, for what the schemas do not cover. */
  req: Request;
}

/**
 * One of the declared responses. `Extract<keyof S, number>` rather than
 * `keyof S & number`: TypeScript keeps a returned `status: 201` as a literal
 * only against a type parameter-like contextual type, and widens it to
 * `number` (then rejects it) against an index type.
 */
export type HandlerResult<S extends ResponseSchemas> = {
  [K in Extract<keyof S, number>]: S[K] extends z.ZodType
    ? { status: K; body: z.input<S[K]>; headers?: Record<string, string> }
    : { status: K; body?: undefined; headers?: Record<string, string> };
}[Extract<keyof S, number>];

export interface RouteDefinition<
  R extends RequestSchemas = RequestSchemas,
  S extends ResponseSchemas = ResponseSchemas,
  A extends AuthRequirement = AuthRequirement,
> {
  method: HttpMethod;
  /** Express syntax relative to the version prefix: `/orders/:id`. */
  path: string;
  /** Mounted under `/v<version>`; 1 when absent. */
  version?: number;
  summary: string;
  description?: string;
  operationId?: string;
  tags?: string[];
  /** Absent means any authenticated caller (`[]`): a route is public only when it says so. */
  auth?: A;
  /** Requires an `Idempotency-Key` header and replays the first response for it. */
  idempotent?: boolean;
  /** Overrides the app's body limit for this route (bytes, or e.g. `'64kb'`). */
  bodyLimit?: number | string;
  request?: R;
  responses: S;
  handler(ctx: HandlerContext<R, A>): Promise<HandlerResult<S>> | HandlerResult<S>;
}

/** A route with its types erased, as lists of routes hold them. */
export type Route = RouteDefinition<RequestSchemas, ResponseSchemas, AuthRequirement>;

/**
 * Declares a route; the kit validates the request against `request`, passes
 * typed values to `handler`, and documents both in the OpenAPI document.
 */
export function defineRoute<
  S extends ResponseSchemas,
  R extends RequestSchemas = Record<never, never>,
  const A extends AuthRequirement = readonly [],
>(route: RouteDefinition<R, S, A>): Route {
  return route as unknown as Route;
}

export interface RouteDependencies {
  logger: Logger;
  bodyLimit: number | string;
  verifier?: TokenVerifier;
  idempotency?: IdempotencyStore;
}

/** One express router per version, each route followed by the path's 405 fallback. */
export function routersByVersion(routes: readonly Route[], deps: RouteDependencies): Map<number, Router> {
  checkRoutes(routes, deps);
  const routers = new Map<number, Router>();
  const methodsByPath = new Map<string, Set<HttpMethod>>();
  for (const route of routes) {
    const version = route.version ?? 1;
    let router = routers.get(version);
    if (!router) {
      router = express.Router();
      routers.set(version, router);
    }
    const handlers: RequestHandler[] = [];
    if (route.method !== 'GET' && route.method !== 'DELETE') {
      handlers.push(...jsonBody({ limit: route.bodyLimit ?? deps.bodyLimit }));
    }
    handlers.push(routeHandler(route, deps));
    router[route.method.toLowerCase() as Lowercase<HttpMethod>](route.path, ...handlers);

    const key = `${version} ${route.path}`;
    const methods = methodsByPath.get(key) ?? new Set();
    methods.add(route.method);
    methodsByPath.set(key, methods);
  }
  for (const [key, methods] of methodsByPath) {
    const [version, path] = splitOnce(key);
    const allowed: string[] = [...methods];
    if (methods.has('GET')) allowed.push('HEAD');
    allowed.push('OPTIONS');
    routers.get(Number(version))!.all(path, (req, res) => {
      if (req.method === 'OPTIONS') {
        res.setHeader('Allow', allowed.join(', ')).status(204).end();
        return;
      }
      throw new MethodNotAllowedError(`${req.method} is not allowed on this resource`, allowed);
    });
  }
  return routers;
}

function routeHandler(route: Route, deps: RouteDependencies): RequestHandler {
  const requirement = route.auth ?? [];
  const template = `/v${route.version ?? 1}${route.path}`;
  return async (req, res) => {
    res.locals.route = template;
    const { traceId } = requestContext(req);
    const auth =
      requirement === 'public' ? undefined : await authenticateRequest(deps.verifier!, req, requirement);
    const key = route.idempotent ? parseIdempotencyKey(req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()]) : undefined;
    const input = validateRequest(route.request ?? {}, {
      params: req.params,
      query: req.query,
      headers: req.headers,
      body: req.body,
    });
    const context = {
      ...input,
      auth,
      traceId,
      logger: deps.logger.child({ traceId }),
      req,
    } as HandlerContext<RequestSchemas, AuthRequirement>;
    const run = async (): Promise<HttpResponse> => toHttpResponse(await route.handler(context));

    if (key === undefined) {
      sendResponse(res, await run());
      return;
    }
    const where = { instance: instanceOf(req), traceId };
    const { response } = await deps.idempotency!.execute(
      {
        scope: auth ? `subject:${auth.subject}` : 'anonymous',
        key,
        requestHash: requestHash({ method: req.method, url: req.originalUrl, body: input.body }),
      },
      async () => {
        try {
          return await run();
        } catch (err) {
          // A client error is the outcome of this key and is replayed like any
          // other; a server error is not an outcome, so it propagates (and the
          // claim is released for a retry).
          const { response: problem, unexpected } = problemFromError(err, where);
          if (unexpected) throw err;
          return problem;
        }
      },
    );
    sendResponse(res, response);
  };
}

function toHttpResponse(result: { status: number; body?: unknown; headers?: Record<string, string> }): HttpResponse {
  const headers = { ...result.headers };
  if (result.body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
  return { status: result.status, headers, body: result.body };
}

function checkRoutes(routes: readonly Route[], deps: RouteDependencies): void {
  const seen = new Set<string>();
  for (const route of routes) {
    const name = `${route.method} /v${route.version ?? 1}${route.path}`;
    if (seen.has(name)) throw new Error(`route ${name} is defined twice`);
    seen.add(name);
    if (route.auth !== 'public' && !deps.verifier) {
      throw new Error(`route ${name} requires authentication, but the app has no token verifier (option \`auth\`)`);
    }
    if (route.idempotent && !deps.idempotency) {
      throw new Error(`route ${name} is idempotent, but the app has no idempotency store (option \`idempotency\`)`);
    }
  }
}

function splitOnce(key: string): [string, string] {
  const i = key.indexOf(' ');
  return [key.slice(0, i), key.slice(i + 1)];
}
