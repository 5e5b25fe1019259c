import { describe, expect, it } from 'vitest';
import { NonRetriableError } from '../src/bus/bus';
import { EnvelopeDecodeError, decodeEnvelope, encodeEnvelope, envelope } from '../src/envelope/envelope';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('envelope (CloudEvents 1.0, Kafka binary binding)', () => {
  const env = envelope({
    id: 'evt-1',
    source: 'order-service',
    type: 'order.placed',
    subject: 'order-42',
    dataschema: 'urn:shop:order.placed:1',
    schemaversion: 1,
    correlationid: 'corr-1',
    causationid: 'cmd-1',
    traceparent,
    data: { orderId: '42', total: { amount: 1999, currency: 'EUR' } },
  });

  it('puts attributes in ce_* headers and the data in the value', () => {
    const m = encodeEnvelope(env, { topic: 'orders', key: 'order-42' });
    expect(m).toMatchObject({ topic: 'orders', key: 'order-42' });
    expect(JSON.parse(m.value)).toEqual(env.data);
    expect(m.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: 'evt-1',
      ce_source: 'order-service',
      ce_type: 'order.placed',
      ce_subject: 'order-42',
      ce_schemaversion: '1',
      ce_correlationid: 'corr-1',
      ce_causationid: 'cmd-1',
      ce_traceparent: traceparent,
      'content-type': 'application/json',
    });
    expect(m.headers!.ce_time).toBe(env.time);
  });

  it('decodes what it encodes', () => {
    const m = encodeEnvelope(env, { topic: 'orders', key: 'order-42' });
    expect(decodeEnvelope({ headers: m.headers!, value: m.value })).toEqual(env);
  });

  const valid = encodeEnvelope(env, { topic: 'orders', key: 'k' });
  const cases: [string, Record<string, string | undefined>, string, RegExp][] = [
    ['no headers at all', {}, '{}', /ce_specversion/],
    ['a wrong spec version', { ce_specversion: '0.3' }, valid.value, /ce_specversion must be 1.0/],
    ['a missing id', { ce_id: undefined }, valid.value, /ce_id/],
    ['a bad type name', { ce_type: 'Order Placed' }, valid.value, /ce_type/],
    ['a bad time', { ce_time: 'yesterday' }, valid.value, /ce_time/],
    ['a bad trace context', { ce_traceparent: 'nope' }, valid.value, /ce_traceparent/],
    ['a missing correlation id', { ce_correlationid: undefined }, valid.value, /ce_correlationid/],
    ['a non-JSON content type', { 'content-type': 'text/plain' }, valid.value, /content-type/],
    ['data that is not JSON', {}, '{not json', /data is not JSON/],
  ];
  for (const [name, headerChanges, value, reason] of cases) {
    it(`refuses ${name} with a non-retriable error naming the reason`, () => {
      const headers: Record<string, string> = name === 'no headers at all' ? {} : { ...valid.headers };
      for (const [k, v] of Object.entries(headerChanges)) {
        if (v === undefined) delete headers[k];
        else headers[k] = v;
      }
      let caught: unknown;
      try {
        decodeEnvelope({ headers, value });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(EnvelopeDecodeError);
      expect(caught).toBeInstanceOf(NonRetriableError);
      expect((caught as Error).message).toMatch(reason);
    });
  }
});
