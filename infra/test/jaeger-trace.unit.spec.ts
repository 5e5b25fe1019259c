import { describe, expect, it } from 'vitest';
import { Trace, type OtlpTrace } from '../jaeger/jaeger-trace';
import { spread } from '../bench/trace-completeness';

/** A trace in the OTLP JSON of Jaeger's `/api/v3/traces/{id}`: spans as [service, id, parent]. */
function otlp(spans: [string, string, string | undefined][]): OtlpTrace {
  const services = [...new Set(spans.map(([s]) => s))];
  return {
    resourceSpans: services.map((service) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          spans: spans
            .filter(([s]) => s === service)
            .map(([, spanId, parent]) => ({ traceId: 't', spanId, ...(parent ? { parentSpanId: parent } : {}), name: `op ${spanId}`, kind: 1, startTimeUnixNano: '1' })),
        },
      ],
    })),
  };
}

describe('a trace read back from Jaeger (infra/jaeger/jaeger-trace.ts)', () => {
  it('is whole when every parent is in it, and names its services', () => {
    const t = new Trace(otlp([['order-service', 'a', undefined], ['coordinator-service', 'b', 'a'], ['analytics-service', 'c', 'b']]));
    expect(t.whole).toBe(true);
    expect([...t.services].sort()).toEqual(['analytics-service', 'coordinator-service', 'order-service']);
  });

  it('is not whole when a span on the way was lost (its child names a parent the trace lacks)', () => {
    const t = new Trace(otlp([['order-service', 'a', undefined], ['analytics-service', 'c', 'b']]));
    expect(t.whole).toBe(false);
  });
});

describe('spread (the bench samples traces evenly over a step)', () => {
  it('takes n evenly spaced items, or all when there are fewer', () => {
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5)).toEqual([0, 2, 4, 6, 8]);
    expect(spread([1, 2], 5)).toEqual([1, 2]);
  });
});
