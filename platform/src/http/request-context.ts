import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface RequestContext {
  /**
   * The W3C trace id of the request: taken from an incoming `traceparent`,
   * otherwise fresh. It ties a problem response to its log lines, and later
   * to the request's trace.
   */
  traceId: string;
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;
const contexts = new WeakMap<IncomingMessage, RequestContext>();

export function requestContext(req: IncomingMessage): RequestContext {
  let context = contexts.get(req);
  if (!context) {
    const traceparent = req.headers.traceparent;
    context = { traceId: traceIdFrom(typeof traceparent === 'string' ? traceparent : undefined) };
    contexts.set(req, context);
  }
  return context;
}

function traceIdFrom(traceparent: string | undefined): string {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim());
  const id = match?.[1];
  return id !== undefined && !/^0+$/.test(id) ? id : randomBytes(16).toString('hex');
}
