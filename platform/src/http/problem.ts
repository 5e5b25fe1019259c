import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { PlatformError } from '../errors/errors';
import { databaseUnreachable } from '../errors/transient-errors';
import { requestContext } from './request-context';

/**
 * RFC 9457 problem details. Every error response of every service has this
 * shape; `type` is `urn:shop:problem:<kind>`, where `<kind>` is the
 * `PlatformError.type` (or one of the kinds below for errors raised by
 * express and the body parser).
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  traceId: string;
  [extension: string]: unknown;
}

/** A response ready to send (or to store, for idempotent replays). */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

export const problemSchema = z
  .object({
    type: z.string().describe('urn:shop:problem:<kind>'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().describe('the request path'),
    traceId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .loose()
  .meta({ id: 'Problem' });

export function problemType(kind: string): string {
  return `urn:shop:problem:${kind}`;
}

const TITLES: Record<string, string> = {
  validation: 'Request validation failed',
  'malformed-json': 'Malformed JSON body',
  unauthorized: 'Authentication required',
  forbidden: 'Forbidden',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  conflict: 'Conflict',
  concurrency: 'Concurrent modification',
  'payload-too-large': 'Payload too large',
  'unsupported-media-type': 'Unsupported media type',
  unprocessable: 'Unprocessable request',
  internal: 'Internal server error',
  unavailable: 'Service unavailable',
  'not-ready': 'Not ready',
  'idempotency-key-reused': 'Idempotency key reused',
  'idempotency-in-progress': 'Request with this idempotency key in progress',
};

const KIND_BY_STATUS: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  408: 'request-timeout',
  409: 'conflict',
  411: 'length-required',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'unprocessable',
  431: 'request-header-fields-too-large',
};

const RESERVED = new Set(['type', 'title', 'status', 'detail', 'instance', 'traceId']);

/** express/body-parser errors (http-errors) carry `status` and a `type` such as `entity.too.large`. */
interface HttpLibraryError {
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
  type?: unknown;
  limit?: unknown;
  message?: unknown;
}

export interface ProblemOutcome {
  response: HttpResponse;
  /** A server-side failure (5xx): to be logged with its stack, never shown. */
  unexpected: boolean;
}

export function problemFromError(error: unknown, where: { instance: string; traceId: string }): ProblemOutcome {
  if (error instanceof PlatformError) {
    const extensions = Object.fromEntries(Object.entries(error.details).filter(([key]) => !RESERVED.has(key)));
    const headers = 'headers' in error && isStringRecord(error.headers) ? error.headers : {};
    return {
      response: problemResponse(error.status, error.type, error.message, where, extensions, headers),
      unexpected: error.status >= 500,
    };
  }
  // The database restarting, refusing or cutting connections: the client should retry, not report a bug.
  if (databaseUnreachable(error)) {
    return {
      response: problemResponse(503, 'unavailable', 'The service cannot reach its database just now; retry shortly (the same Idempotency-Key is safe).', where, {}, {
        'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS),
      }),
      unexpected: true,
    };
  }
  const status = clientErrorStatus(error);
  if (status !== undefined) {
    const e = error as HttpLibraryError;
    const kind = libraryKind(e.type) ?? KIND_BY_STATUS[status] ?? 'bad-request';
    let detail = e.expose === true && typeof e.message === 'string' ? e.message : titleOf(kind, status);
    if (kind === 'payload-too-large' && typeof e.limit === 'number') {
      detail = `request body exceeds the limit of ${e.limit} bytes`;
    }
    return { response: problemResponse(status, kind, detail, where), unexpected: false };
  }
  return {
    response: problemResponse(500, 'internal', 'An unexpected error occurred. Quote the traceId when reporting it.', where),
    unexpected: true,
  };
}

export function problemResponse(
  status: number,
  kind: string,
  detail: string,
  where: { instance: string; traceId: string },
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): HttpResponse {
  const body: ProblemDetails = {
    ...extensions,
    type: problemType(kind),
    title: titleOf(kind, status),
    status,
    detail,
    instance: where.instance,
    traceId: where.traceId,
  };
  return { status, headers: { ...headers, 'Content-Type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8` }, body };
}

export function sendResponse(res: Response, response: HttpResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  if (response.body === undefined) {
    res.end();
  } else if (res.getHeader('Content-Type') !== undefined) {
    // res.json would keep the type but we want the exact bytes of JSON.stringify either way.
    res.send(JSON.stringify(response.body));
  } else {
    res.json(response.body);
  }
}

/** The request path, without the query string (which may carry things not meant for logs). */
export function instanceOf(req: Request): string {
  const url = req.originalUrl || req.url;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * The one place errors become responses. Client mistakes keep their 4xx;
 * anything unrecognised is a 500 whose body says nothing about the cause,
 * while the log line carries the error and its stack under the same traceId.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    const { traceId } = requestContext(req);
    const { response, unexpected } = problemFromError(error, { instance: instanceOf(req), traceId });
    if (unexpected && response.status === 503) {
      logger.warn({ err: error, traceId, method: req.method, path: instanceOf(req) }, 'request failed: database unavailable');
    } else if (unexpected) {
      logger.error({ err: error, traceId, method: req.method, path: instanceOf(req) }, 'request failed');
    }
    if (res.headersSent) {
      // Too late for a problem body: let express abort the connection so the
      // client sees a truncated response rather than a wrong one.
      next(error);
      return;
    }
    sendResponse(res, response);
  };
}

/** What a 503 for an unreachable database asks the client to wait. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as HttpLibraryError;
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function libraryKind(type: unknown): string | undefined {
  switch (type) {
    case 'entity.too.large':
      return 'payload-too-large';
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return 'unsupported-media-type';
    case 'entity.parse.failed':
      return 'malformed-json';
    default:
      return undefined;
  }
}

function titleOf(kind: string, status: number): string {
  return TITLES[kind] ?? STATUS_CODES[status] ?? 'Error';
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string')
  );
}
