import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { NonRetriableError } from '@shop/platform';
import {
  OrderPlaced,
  allMessages,
  atVersion,
  buildMessage,
  buildableVersions,
  contractJsonSchemas,
  contracts,
  decodeContract,
  defineMessage,
  listedVersions,
  readData,
  TOPICS,
} from '../src/index';

const meta = { id: randomUUID(), source: 'order-service' as const, correlationId: 'corr-1' };
const placed = { orderId: randomUUID(), customerId: 'alice', lines: [{ sku: 'SKU-1', quantity: 2 }], placedAt: new Date().toISOString(), channel: 'web' as const };
const { channel: _channel, ...placedV1 } = placed;
const decoded = (m: { headers?: Record<string, string>; value: string }) => decodeContract(contracts, { headers: m.headers!, value: m.value });

describe('contracts', () => {
  it('builds a keyed message on its topic and decodes it back to the same data', () => {
    const m = buildMessage(OrderPlaced, placed, meta);
    expect(m).toMatchObject({ topic: 'order.events', key: placed.orderId });
    expect(m.headers).toMatchObject({ ce_type: 'order.placed', ce_schemaversion: '2', ce_dataschema: 'urn:shop:order.placed:2', ce_id: meta.id, ce_source: 'order-service' });
    expect(decoded(m).definition).toBe(OrderPlaced);
    expect(decoded(m).data).toEqual(placed);
  });

  it('refuses to build a message whose data breaks its schema', () => {
    expect(() => buildMessage(OrderPlaced, { ...placed, lines: [] }, meta)).toThrow();
    expect(() => buildMessage(OrderPlaced, { ...placed, channel: 'fax' as 'web' }, meta)).toThrow();
  });

  it('refuses unknown types and invalid data as non-retriable', () => {
    const m = buildMessage(OrderPlaced, placed, meta);
    expect(() => decodeContract(contracts, { headers: { ...m.headers!, ce_type: 'order.exploded' }, value: m.value })).toThrow(NonRetriableError);
    expect(() => decodeContract(contracts, { headers: m.headers!, value: JSON.stringify({ ...placed, orderId: 'nope' }) })).toThrow(
      /order.placed v2 data is invalid/,
    );
  });

  describe('order.placed v1 -> v2 (a new required channel)', () => {
    const v1Message = () => {
      const m = buildMessage(OrderPlaced, placed, meta);
      return { ...m, headers: { ...m.headers!, ce_schemaversion: '1', ce_dataschema: 'urn:shop:order.placed:1' }, value: JSON.stringify(placedV1) };
    };

    it('lists v2 and v1, and can build both', () => {
      expect(listedVersions(OrderPlaced)).toEqual([2, 1]);
      expect(buildableVersions(OrderPlaced)).toEqual([2, 1]);
    });

    it('upcasts v1 data to v2 with channel api: before v2 every order came through the HTTP API', () => {
      expect(decoded(v1Message()).data).toEqual({ ...placedV1, channel: 'api' });
      expect(OrderPlaced.read(decoded(v1Message()).envelope)).toEqual({ ...placedV1, channel: 'api' });
    });

    it('refuses v1 data that breaks the v1 schema, and a version it does not know', () => {
      const bad = { ...v1Message(), value: JSON.stringify({ ...placedV1, lines: [] }) };
      expect(() => decoded(bad)).toThrow(/order.placed v1 data is invalid/);
      const env = decoded(v1Message()).envelope;
      expect(() => readData(OrderPlaced, { ...env, schemaversion: 3 })).toThrow(/version 3 is not supported/);
    });

    it('downcasts v2 data to v1 and builds the v1 message: v1 headers, v1 data, same key', () => {
      const m = buildMessage(OrderPlaced, placed, meta, { version: 1 });
      expect(m).toMatchObject({ topic: 'order.events', key: placed.orderId });
      expect(m.headers).toMatchObject({ ce_type: 'order.placed', ce_schemaversion: '1', ce_dataschema: 'urn:shop:order.placed:1', ce_id: meta.id });
      expect(JSON.parse(m.value)).toEqual(placedV1);
      // A v1 consumer reads it with the v1 schema; the current contract reads it back through the upcaster.
      expect(OrderPlaced.previous![0]!.schema.parse(JSON.parse(m.value))).toEqual(placedV1);
      expect(decoded(m).data).toEqual({ ...placedV1, channel: 'api' });
    });

    it('refuses to build a version it does not list', () => {
      expect(() => buildMessage(OrderPlaced, placed, meta, { version: 3 })).toThrow('order.placed has no v3 (it lists v2, v1)');
      expect(() => atVersion(OrderPlaced, 0)).toThrow('order.placed has no v0');
    });

    it('builds through atVersion: a contract whose build publishes v1, reading unchanged', () => {
      const v1 = atVersion(OrderPlaced, 1);
      expect(atVersion(OrderPlaced, 2)).toBe(OrderPlaced);
      expect(v1).toMatchObject({ type: 'order.placed', version: 2, topic: 'order.events' });
      const m = v1.build(placed, meta);
      expect(m.headers).toMatchObject({ ce_schemaversion: '1' });
      expect(JSON.parse(m.value)).toEqual(placedV1);
      expect(v1.read(decoded(m).envelope)).toEqual({ ...placedV1, channel: 'api' });
    });
  });

  describe('downcasting in general', () => {
    const V1 = z.object({ orderId: z.uuid(), reason: z.string() });
    const V2 = z.object({ orderId: z.uuid(), reason: z.string(), code: z.enum(['a', 'b']) });
    const V3 = z.object({ orderId: z.uuid(), why: z.object({ text: z.string(), code: z.enum(['a', 'b']) }) });
    const spec = {
      ...OrderPlaced,
      type: 'order.fixture-recorded',
      version: 3,
      schema: V3,
      key: (d: z.infer<typeof V3>) => d.orderId,
      previous: [
        { version: 1, schema: V1, upcast: (d: unknown) => ({ ...(d as z.infer<typeof V1>), code: 'a' }), downcast: (d: unknown) => ({ orderId: (d as z.infer<typeof V2>).orderId, reason: (d as z.infer<typeof V2>).reason }) },
        {
          version: 2,
          schema: V2,
          upcast: (d: unknown) => {
            const v2 = d as z.infer<typeof V2>;
            return { orderId: v2.orderId, why: { text: v2.reason, code: v2.code } };
          },
          downcast: (d: unknown) => {
            const v3 = d as z.infer<typeof V3>;
            return { orderId: v3.orderId, reason: v3.why.text, code: v3.why.code };
          },
        },
      ],
    };
    const data = { orderId: randomUUID(), why: { text: 'late', code: 'b' as const } };

    it('goes down one version at a time, validating each', () => {
      const m = buildMessage(defineMessage(spec), data, meta, { version: 1 });
      expect(m.headers).toMatchObject({ ce_schemaversion: '1', ce_dataschema: 'urn:shop:order.fixture-recorded:1' });
      expect(JSON.parse(m.value)).toEqual({ orderId: data.orderId, reason: 'late' });
      expect(JSON.parse(buildMessage(defineMessage(spec), data, meta, { version: 2 }).value)).toEqual({ orderId: data.orderId, reason: 'late', code: 'b' });
    });

    it('refuses a version some step down to it cannot downcast to, naming the step', () => {
      const readOnly = defineMessage({ ...spec, previous: [{ ...spec.previous[0]! }, { ...spec.previous[1]!, downcast: undefined }] });
      expect(buildableVersions(readOnly)).toEqual([3]);
      expect(() => buildMessage(readOnly, data, meta, { version: 1 })).toThrow('order.fixture-recorded v1 cannot be built: every `previous` entry from v2 down to v1 needs a `downcast`');
      expect(() => atVersion(readOnly, 2)).toThrow(/v2 cannot be built/);
    });

    it('refuses a downcast whose result breaks the older schema', () => {
      const broken = defineMessage({ ...spec, previous: [spec.previous[0]!, { ...spec.previous[1]!, downcast: (d: unknown) => ({ orderId: (d as z.infer<typeof V3>).orderId }) }] });
      expect(() => buildMessage(broken, data, meta, { version: 2 })).toThrow(/order.fixture-recorded downcast to v2 is invalid/);
    });
  });

  it('has one definition per type, every topic known, and a JSON Schema for each', () => {
    expect(new Set(allMessages.map((m) => m.type)).size).toBe(allMessages.length);
    for (const m of allMessages) expect(Object.values(TOPICS)).toContain(m.topic);
    const schemas = contractJsonSchemas(allMessages);
    expect(Object.keys(schemas)).toHaveLength(allMessages.length);
    expect(schemas['order.placed@v2']).toMatchObject({ type: 'object', required: expect.arrayContaining(['orderId', 'lines', 'channel']) });
  });

  it('lists every message in the catalogue of the README', () => {
    const readme = fs.readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
    for (const m of allMessages) expect(readme).toContain(`\`${m.type}\``);
  });
});
