import { describe, expect, it } from 'vitest';
import { NonRetriableError } from '../src/bus/bus';
import { EnvelopeDecodeError, decodeEnvelope, decodeEnvelopeBySchema, encodeEnvelope, envelope } from '../src/envelope/envelope';

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

  it('decodes every variant exactly as the schema alone does: the hand-written fast path never accepts what the schema refuses', () => {
    // Tricky values per header: empty, blank, near misses of each rule, and values that are valid but unusual.
    const variants: Record<string, (string | undefined)[]> = {
      ce_specversion: [undefined, '', '1', '1.0 ', '1.00', '2.0'],
      ce_id: [undefined, '', ' ', 'x'],
      ce_source: [undefined, '', 'svc'],
      ce_type: [undefined, '', 'Order.placed', 'order placed', '1order', 'order.placed-v2', 'order..placed', 'o'],
      ce_subject: [undefined, '', 'order-1'],
      ce_time: [
        undefined, '', '2026-12-01', '2026-12-01T10:00:00', '2026-12-01T10:00:00Z', '2026-12-01T10:00:00.123456789Z',
        '2026-12-01T10:00:00.1234567891Z', '2026-12-01T10:00:00+01:00', '2026-12-01T10:00:00+0100', '2026-12-01T24:00:00Z',
        '2026-13-01T10:00:00Z', '2026-02-30T10:00:00Z', '2026-02-29T10:00:00Z', '2028-02-29T10:00:00Z', '2100-02-29T10:00:00Z', '0000-02-29T10:00:00Z', '2026-04-31T10:00:00Z', '2026-12-01t10:00:00z', '2026-12-01T10:00:60Z', ' 2026-12-01T10:00:00Z',
      ],
      ce_dataschema: [undefined, '', 'urn:x'],
      ce_schemaversion: [undefined, '', '0', '1', '01', '1.5', '-1', '1e3', ' 2', '999999999', '9999999999', 'abc'],
      ce_correlationid: [undefined, '', 'c'],
      ce_causationid: [undefined, '', 'c'],
      ce_traceparent: [undefined, '', traceparent, traceparent.toUpperCase(), `${traceparent}0`, '00-00-00-00'],
      ce_tracestate: [undefined, '', 'congo=t61rcWkgMzE'],
      'content-type': [undefined, '', 'application/json', 'application/json; charset=utf-8', ' application/json ', 'Application/JSON', 'text/plain'],
    };
    const outcome = (decode: typeof decodeEnvelope, headers: Record<string, string>, value: string) => {
      try {
        return { ok: decode({ headers, value }) };
      } catch (err) {
        return { refused: err instanceof EnvelopeDecodeError };
      }
    };
    let accepted = 0;
    let refused = 0;
    for (const [header, values] of Object.entries(variants)) {
      for (const v of values) {
        for (const value of [valid.value, '{not json', 'null']) {
          const headers: Record<string, string> = { ...valid.headers };
          if (v === undefined) delete headers[header];
          else headers[header] = v;
          const fast = outcome(decodeEnvelope, headers, value);
          expect(fast, `${header}=${JSON.stringify(v)} value=${value}`).toEqual(outcome(decodeEnvelopeBySchema, headers, value));
          if ('ok' in fast) accepted++;
          else refused++;
        }
      }
    }
    // Both kinds were exercised.
    expect(accepted).toBeGreaterThan(40);
    expect(refused).toBeGreaterThan(100);
  });
});
