import { describe, expect, it } from 'vitest';
import { SampledGauge, metricsRegistry } from '../src/observability/metrics';
import { activeCarrier, contextOf, carrierOf, tracingEnabled } from '../src/observability/tracing';
import { tracingRequested } from '../src/observability/tracing-env';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { traceExporterOf } from '../src/observability/tracing-sdk';

describe('tracing configuration (standard OTEL_* variables only)', () => {
  it('is on with an OTLP endpoint, off without one, and off again when the SDK or the exporter is disabled', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_SDK_DISABLED: 'false' })).toBe(true);
  });

  it('exports OTLP/HTTP protobuf by default, JSON when OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL asks, and refuses a protocol it does not speak', () => {
    expect(traceExporterOf({})).toBeInstanceOf(ProtobufExporter);
    expect(traceExporterOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBeInstanceOf(JsonExporter);
    // The per-signal variable wins over the general one.
    expect(traceExporterOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })).toBeInstanceOf(ProtobufExporter);
    expect(() => traceExporterOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: use http\/protobuf/);
  });

  it('without the SDK, reads no context (what the services run when tracing is off)', () => {
    expect(tracingEnabled()).toBe(false);
    expect(activeCarrier()).toEqual({});
    // With no propagator registered, a stored context is not continued (no SDK, no spans to continue it).
    expect(carrierOf(contextOf({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }))).toEqual({});
  });
});

describe('metrics', () => {
  it('follow the Prometheus naming conventions: a shop_ prefix, _total on counters only, a unit on histograms', async () => {
    const metrics = (await metricsRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith('shop_'));
    expect(metrics.length).toBeGreaterThanOrEqual(20);
    const wrong = metrics.filter((m) => {
      const type = String(m.type);
      if (type === 'counter') return !m.name.endsWith('_total');
      if (m.name.endsWith('_total')) return true;
      if (type === 'histogram') return !/_(seconds|messages|bytes)$/.test(m.name);
      return false;
    });
    expect(wrong.map((m) => `${m.name} (${String(m.type)})`)).toEqual([]);
    for (const m of metrics) expect(m.help.length, m.name).toBeGreaterThan(10);
  });

  it('reads a sampled gauge at scrape time from its sources; a failing source reports nothing, a removed one is gone', async () => {
    const gauge = new SampledGauge('shop_test_sampled_events', 'A gauge of the test, read at scrape time.', ['part'] as const);
    const good = gauge.add(() => [{ labels: { part: 'a' }, value: 3 }]);
    const bad = gauge.add(async () => {
      throw new Error('database down');
    });
    let text = await metricsRegistry.getSingleMetricAsString('shop_test_sampled_events');
    expect(text).toContain('shop_test_sampled_events{part="a"} 3');
    expect(text.split('\n').filter((l) => l.startsWith('shop_test_sampled_events'))).toHaveLength(1);
    good();
    bad();
    text = await metricsRegistry.getSingleMetricAsString('shop_test_sampled_events');
    expect(text).not.toContain('part="a"');
    metricsRegistry.removeSingleMetric('shop_test_sampled_events');
  });
});
