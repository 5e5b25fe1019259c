/**
 * Typed errors that carry their HTTP meaning. The HTTP kit turns them into
 * RFC 9457 problem responses; nothing else maps errors to statuses.
 */
export abstract class PlatformError extends Error {
  abstract readonly status: number;
  /** A stable, URI-like problem type suffix, e.g. `validation`. */
  abstract readonly type: string;
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

export class ValidationError extends PlatformError {
  readonly status = 400;
  readonly type = 'validation';
}

export class NotFoundError extends PlatformError {
  readonly status = 404;
  readonly type = 'not-found';
}

/** Someone else changed the thing first; re-read and retry, or give up. */
export class ConcurrencyError extends PlatformError {
  readonly status: number = 409;
  readonly type: string = 'concurrency';
}

/**
 * No usable credentials. `headers` carries the RFC 6750 challenge, so the
 * client learns which scheme to use and, for a bad token, that it was invalid.
 */
export class UnauthorizedError extends PlatformError {
  readonly status = 401;
  readonly type = 'unauthorized';
  readonly headers: Record<string, string>;

  constructor(message: string, challenge: { error?: 'invalid_request' | 'invalid_token'; realm?: string } = {}) {
    super(message);
    const params = [`realm="${challenge.realm ?? 'shop'}"`];
    if (challenge.error) {
      params.push(`error="${challenge.error}"`, `error_description="${message.replace(/["\\]/g, '')}"`);
    }
    this.headers = { 'WWW-Authenticate': `Bearer ${params.join(', ')}` };
  }
}

/** Authenticated, but not allowed to do this. */
export class ForbiddenError extends PlatformError {
  readonly status = 403;
  readonly type = 'forbidden';
}

export class MethodNotAllowedError extends PlatformError {
  readonly status = 405;
  readonly type = 'method-not-allowed';
  readonly headers: Record<string, string>;

  constructor(message: string, allowed: readonly string[]) {
    super(message, { allowed });
    this.headers = { Allow: allowed.join(', ') };
  }
}

/**
 * A 409 the client can resolve by waiting: `Retry-After` tells it when to try
 * again (for example, a request with the same idempotency key still running).
 */
export class ConflictError extends PlatformError {
  readonly status = 409;
  readonly type: string = 'conflict';
  readonly headers: Record<string, string>;

  constructor(message: string, details: Record<string, unknown> = {}, retryAfterSeconds?: number) {
    super(message, details);
    this.headers = retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) };
  }
}

export class PayloadTooLargeError extends PlatformError {
  readonly status = 413;
  readonly type = 'payload-too-large';
}

export class UnsupportedMediaTypeError extends PlatformError {
  readonly status = 415;
  readonly type = 'unsupported-media-type';
}

/** Well-formed and valid, but it cannot be processed as asked. */
export class UnprocessableError extends PlatformError {
  readonly status = 422;
  readonly type: string = 'unprocessable';
}

/** The body claims to be JSON but is not (syntax, encoding, or nesting too deep). */
export class MalformedJsonError extends PlatformError {
  readonly status = 400;
  readonly type = 'malformed-json';
}
