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
