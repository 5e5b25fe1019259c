import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';

/**
 * The platform's own spans, over `@opentelemetry/api` only: with no SDK in
 * the process (tracing off, the default) every call here is the API's no-op,
 * and `tracingEnabled()` lets the hot paths skip even that. The SDK is
 * started by `tracing-sdk.ts`, preloaded with `--import` when the standard
 * `OTEL_*` variables ask for traces (see docs/observability.md).
 *
 * Messaging spans follow the OpenTelemetry messaging conventions: names are
 * `{operation} {destination}` (`publish shop.orders.events`,
 * `process shop.orders.events`), the consumer's span is a child of the
 * producer's (one order is one trace) and also links to it (the creation
 * context), as the conventions recommend for single-message processing.
 */
export const tracer = trace.getTracer('@shop/platform', '1.0.0');

const ENABLED = Symbol.for('shop.tracing.enabled');
type TracingGlobal = { [ENABLED]?: { shutdown(): Promise<void> } };

/** True once `tracing-sdk.ts` registered a tracer provider in this process. */
export function tracingEnabled(): boolean {
  return (globalThis as TracingGlobal)[ENABLED] !== undefined;
}

/** Called by the SDK bootstrap: marks tracing on and says how to flush at shutdown. */
export function markTracingEnabled(shutdown: () => Promise<void>): void {
  (globalThis as TracingGlobal)[ENABLED] = { shutdown };
}

/**
 * Flushes and stops the SDK, if there is one (the service host's last
 * shutdown step), for at most `timeoutMs`: when the collector has gone
 * first (Ctrl-C reaches Jaeger and the services together), each queued
 * batch would wait out the exporter's retries, and a stop must not hang on
 * spans nobody can receive any more.
 */
export async function shutdownTracing(timeoutMs = 3_000): Promise<void> {
  const shutdown = (globalThis as TracingGlobal)[ENABLED]?.shutdown();
  if (!shutdown) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([shutdown, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref()))]).finally(() => clearTimeout(timer));
}

export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

const carrierGetter: TextMapGetter<TraceCarrier> = {
  keys: (c) => Object.keys(c).filter((k) => c[k as keyof TraceCarrier] !== undefined),
  get: (c, key) => (key === 'traceparent' ? c.traceparent : key === 'tracestate' ? c.tracestate : undefined),
};

/** The context a stored or received W3C trace context continues (the root context when there is none). */
export function contextOf(carrier: TraceCarrier): Context {
  if (!carrier.traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier, carrierGetter);
}

/** The W3C trace context of `ctx`'s span, as stored in event metadata and message headers. */
export function carrierOf(ctx: Context): TraceCarrier {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return {
    ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}),
    ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
  };
}

/** The trace context of the span active now, or nothing (tracing off, or no span). */
export function activeCarrier(): TraceCarrier {
  if (!tracingEnabled() || !trace.getSpan(context.active())?.spanContext()) return {};
  return carrierOf(context.active());
}

/** A span continuing `parent`, with a link to it (the creation context of a message). */
export function startLinkedSpan(name: string, parent: Context, options: { kind: SpanKind; attributes?: Attributes }): Span {
  const parentSpan = trace.getSpanContext(parent);
  const links: Link[] = parentSpan ? [{ context: parentSpan }] : [];
  return tracer.startSpan(name, { kind: options.kind, links, ...(options.attributes ? { attributes: options.attributes } : {}) }, parent);
}

/** Records `error` on `span` and marks it failed. */
export function failSpan(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message.slice(0, 500) });
}

export { SpanKind, context, trace, type Context, type Span };

/** Attribute names of the messaging conventions (semantic-conventions 1.45, incubating) and the platform's own. */
export const ATTR = {
  messagingSystem: 'messaging.system',
  messagingOperationType: 'messaging.operation.type',
  messagingOperationName: 'messaging.operation.name',
  messagingDestination: 'messaging.destination.name',
  messagingPartition: 'messaging.destination.partition.id',
  messagingMessageId: 'messaging.message.id',
  messagingConversationId: 'messaging.message.conversation_id',
  messagingConsumerGroup: 'messaging.consumer.group.name',
  messagingKafkaKey: 'messaging.kafka.message.key',
  messagingKafkaOffset: 'messaging.kafka.offset',
  messageType: 'shop.message.type',
  outcome: 'shop.message.outcome',
  rejection: 'shop.message.rejection',
  sagaType: 'shop.saga.type',
  sagaId: 'shop.saga.id',
  sagaStep: 'shop.saga.step',
  compensationReason: 'shop.saga.compensation.reason',
  deadlineId: 'shop.saga.deadline.id',
} as const;
