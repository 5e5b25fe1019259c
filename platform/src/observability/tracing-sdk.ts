import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { markTracingEnabled } from './tracing';

export { tracingRequested } from './tracing-env';

/**
 * The batch processor's defaults for a busy service, where `OTEL_BSP_*` does
 * not say otherwise: the SDK's batches of 512 spans, exported every second
 * rather than every 5 s (a trace is in Jaeger about a second after its last
 * span ends), from a queue of 16,384 rather than 2,048, so that a burst of
 * orders drops no span. Serialising 512 spans takes about 2 ms; in
 * `bench:saga` batches of 64 every 250 ms cost more (eight times the export
 * requests, and Jaeger decoding each) than they saved in latency.
 */
function batchDefaults(env: NodeJS.ProcessEnv): { scheduledDelayMillis?: number; maxQueueSize?: number } {
  return {
    ...(env.OTEL_BSP_SCHEDULE_DELAY ? {} : { scheduledDelayMillis: 1000 }),
    ...(env.OTEL_BSP_MAX_QUEUE_SIZE ? {} : { maxQueueSize: 16_384 }),
  };
}

/**
 * The OTLP/HTTP exporter of `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` (else
 * `OTEL_EXPORTER_OTLP_PROTOCOL`): `http/protobuf`, the specification's
 * default, or `http/json`. Protobuf is under half the bytes of JSON, so
 * the collector (Jaeger on the same cores, in `bench:saga`) spends less
 * decoding it. gRPC is not offered: it would add a second HTTP/2 stack to
 * every service for no gain over HTTP/1.1 keep-alive on one host.
 */
export function traceExporterOf(env: NodeJS.ProcessEnv = process.env): OtlpJsonTraceExporter | OtlpProtobufTraceExporter {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (protocol === 'http/json') return new OtlpJsonTraceExporter();
  if (protocol === 'http/protobuf') return new OtlpProtobufTraceExporter();
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: use http/protobuf (the default) or http/json`);
}

/** Requests no span is made for: probes and scrapes. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Starts the OpenTelemetry SDK for a service process: a Node tracer
 * provider (W3C trace context, async-local context), the sampler from
 * `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` (parent-based always-on by
 * default), batched OTLP/HTTP export to `OTEL_EXPORTER_OTLP_ENDPOINT`
 * (`OTEL_BSP_*` tune the batches), the resource from `OTEL_SERVICE_NAME` /
 * `OTEL_RESOURCE_ATTRIBUTES` (else `SERVICE_NAME`), and the instrumentations:
 * HTTP server and client, express (route names), pg (only under a parent
 * span, so idle pollers make none; knex's queries are pg queries, so they
 * are pg spans: the knex instrumentation would wrap each in a second span,
 * and cost about a tenth of tracing's CPU in `bench:saga`), kafkajs.
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env): NodeTracerProvider {
  if (env.OTEL_LOG_LEVEL) diag.setLogger(new DiagConsoleLogger(), DiagLogLevel[env.OTEL_LOG_LEVEL.toUpperCase() as keyof typeof DiagLogLevel] ?? DiagLogLevel.WARN);
  const detected = detectResources({ detectors: [envDetector] });
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.SERVICE_NAME ?? 'shop-service', [ATTR_SERVICE_VERSION]: env.SERVICE_VERSION ?? '1.0.0' }))
    .merge(detected);
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(traceExporterOf(env), batchDefaults(env))],
  });
  provider.register();
  const instrumentations = {
    http: () => new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0]!) }),
    express: () => new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
    pg: () => new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    kafkajs: () => new KafkaJsInstrumentation(),
  };
  // OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS (comma-separated: http, express, pg,
  // kafkajs), as the OpenTelemetry Node auto-instrumentation reads them. The platform's own spans stay.
  const list = (v: string | undefined) => v?.split(',').map((x) => x.trim()).filter(Boolean);
  const enabled = list(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS);
  const disabled = new Set(list(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS) ?? []);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: Object.entries(instrumentations)
      .filter(([name]) => (enabled ? enabled.includes(name) : true) && !disabled.has(name))
      .map(([, make]) => make()),
  });
  markTracingEnabled(() => provider.shutdown());
  return provider;
}
