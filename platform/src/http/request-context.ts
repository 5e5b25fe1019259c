import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TraceFlags, isSpanContextValid } from '@opentelemetry/api';
import { trace, tracingEnabled } from '../observability/tracing';

export interface RequestContext {
  /**
   * The W3C trace id of the request: taken from an incoming `traceparent`,
   * otherwise fresh; with tracing on, the trace of the request's server span.
   * It ties a problem response and the `traceresponse` header to the
   * request's log lines and its trace.
   */
  traceId: string;
  /** The request's span id (its server span's when tracing is on). */
  spanId: string;
  /** Whether the trace is recorded (sampled by the tracing SDK). */
  sampled: boolean;
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;
const contexts = new WeakMap<IncomingMessage, RequestContext>();

export function requestContext(req: IncomingMessage): RequestContext {
  let context = contexts.get(req);
  if (!context) {
    const span = tracingEnabled() ? trace.getActiveSpan()?.spanContext() : undefined;
    if (span && isSpanContextValid(span)) {
      // The server span of the HTTP instrumentation: problem bodies and logs name the trace Jaeger has.
      context = { traceId: span.traceId, spanId: span.spanId, sampled: (span.traceFlags & TraceFlags.SAMPLED) !== 0 };
    } else {
      const traceparent = req.headers.traceparent;
      context = { traceId: traceIdFrom(typeof traceparent === 'string' ? traceparent : undefined), spanId: randomBytes(8).toString('hex'), sampled: false };
    }
    contexts.set(req, context);
  }
  return context;
}

function traceIdFrom(traceparent: string | undefined): string {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim());
  const id = match?.[1];
  return id !== undefined && !/^0+$/.test(id) ? id : randomBytes(16).toString('hex');
}
