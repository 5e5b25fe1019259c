import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { NonRetriableError } from '@shop/platform';
import {
  OrderPlaced,
  allMessages,
  buildMessage,
  contractJsonSchemas,
  contracts,
  decodeContract,
  defineMessage,
  readData,
  TOPICS,
} from '../src/index';

const meta = { id: randomUUID(), source: 'order-service' as const, correlationId: 'corr-1' };
const placed = { orderId: randomUUID(), customerId: 'alice', lines: [{ sku: 'SKU-1', quantity: 2 }], placedAt: new Date().toISOString() };

describe('contracts', () => {
  it('builds a keyed message on its topic and decodes it back to the same data', () => {
    const m = buildMessage(OrderPlaced, placed, meta);
    expect(m).toMatchObject({ topic: 'order.events', key: placed.orderId });
    expect(m.headers).toMatchObject({ ce_type: 'order.placed', ce_schemaversion: '1', ce_id: meta.id, ce_source: 'order-service' });
    const decoded = decodeContract(contracts, { headers: m.headers!, value: m.value });
    expect(decoded.definition).toBe(OrderPlaced);
    expect(decoded.data).toEqual(placed);
  });

  it('refuses to build a message whose data breaks its schema', () => {
    expect(() => buildMessage(OrderPlaced, { ...placed, lines: [] }, meta)).toThrow();
  });

  it('refuses unknown types and invalid data as non-retriable', () => {
    const m = buildMessage(OrderPlaced, placed, meta);
    expect(() => decodeContract(contracts, { headers: { ...m.headers!, ce_type: 'order.exploded' }, value: m.value })).toThrow(NonRetriableError);
    expect(() => decodeContract(contracts, { headers: m.headers!, value: JSON.stringify({ ...placed, orderId: 'nope' }) })).toThrow(
      /order.placed v1 data is invalid/,
    );
  });

  it('upcasts an older version and refuses a version it does not know', () => {
    const v2 = defineMessage({
      ...OrderPlaced,
      version: 2,
      schema: z.object({ orderId: z.uuid(), customer: z.object({ id: z.string() }) }),
      key: (d) => d.orderId,
      previous: [
        {
          version: 1,
          schema: OrderPlaced.schema,
          upcast: (d) => {
            const v1 = d as z.infer<typeof OrderPlaced.schema>;
            return { orderId: v1.orderId, customer: { id: v1.customerId } };
          },
        },
      ],
    });
    const v1Message = buildMessage(OrderPlaced, placed, meta);
    const env = decodeContract(contracts, { headers: v1Message.headers!, value: v1Message.value }).envelope;
    expect(readData(v2, env)).toEqual({ orderId: placed.orderId, customer: { id: 'alice' } });
    expect(() => readData(v2, { ...env, schemaversion: 3 })).toThrow(/version 3 is not supported/);
  });

  it('has one definition per type, every topic known, and a JSON Schema for each', () => {
    expect(new Set(allMessages.map((m) => m.type)).size).toBe(allMessages.length);
    for (const m of allMessages) expect(Object.values(TOPICS)).toContain(m.topic);
    const schemas = contractJsonSchemas(allMessages);
    expect(Object.keys(schemas)).toHaveLength(allMessages.length);
    expect(schemas['order.placed@v1']).toMatchObject({ type: 'object', required: expect.arrayContaining(['orderId', 'lines']) });
  });

  it('lists every message in the catalogue of the README', () => {
    const readme = fs.readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
    for (const m of allMessages) expect(readme).toContain(`\`${m.type}\``);
  });
});
