import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { ALL_TOPICS, OrderPlaced, allMessages, buildMessage, defineMessage, type MessageDefinition } from '../src/index';
import { asyncApiDocument, headersSchema, messageId, operationId, payloadSchema, versionedMessages, type JsonSchema } from '../src/asyncapi';
import { ASYNCAPI_FILE, OUT_OF_DATE, asyncApiDiagnostics, describeDiagnostic, errorsOf, renderAsyncApi } from '../../infra/contracts/asyncapi-cli';

/** A breaking change of `order.placed`: v2 nests the customer, v1 stays accepted and is upcast. */
const OrderPlacedV2 = defineMessage({
  ...OrderPlaced,
  version: 2,
  schema: z.object({ orderId: z.uuid(), customer: z.object({ id: z.string().min(1) }), placedAt: z.iso.datetime() }),
  key: (d) => d.orderId,
  previous: [
    {
      version: 1,
      schema: OrderPlaced.schema,
      upcast: (d) => {
        const v1 = d as z.infer<typeof OrderPlaced.schema>;
        return { orderId: v1.orderId, customer: { id: v1.customerId }, placedAt: v1.placedAt };
      },
    },
  ],
});

async function parsed(source: string | Record<string, unknown>): Promise<AsyncAPIDocumentInterface> {
  const { document, diagnostics } = await new Parser().parse(typeof source === 'string' ? source : JSON.stringify(source));
  const errors = errorsOf(diagnostics);
  expect(errors.map(describeDiagnostic), 'parser errors').toEqual([]);
  expect(document).toBeDefined();
  return document!;
}

/** A parsed schema without the ids the parser adds (`x-parser-schema-id`). */
function withoutParserKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutParserKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith('x-parser-')).map(([k, v]) => [k, withoutParserKeys(v)]));
}

/** Checks the document against the definitions through the parser's model: what a reader of the document sees. */
function expectMatchesContracts(document: AsyncAPIDocumentInterface, definitions: readonly MessageDefinition[]) {
  for (const m of versionedMessages(definitions)) {
    const d = m.definition;
    const channel = document.channels().get(d.topic);
    expect(channel?.address(), `channel of ${d.topic}`).toBe(d.topic);
    expect(channel!.bindings().get('kafka')?.value()).toMatchObject({ topic: d.topic, partitions: 8 });
    const message = channel!.messages().get(m.id);
    expect(message, `${m.id} on ${d.topic}`).toBeDefined();
    const json = message!.json() as Record<string, unknown> & { payload: { schemaFormat: string; schema: unknown }; headers: { schema: unknown } };
    expect(json.payload.schemaFormat).toBe('application/schema+json;version=draft-07');
    expect(withoutParserKeys(json.payload.schema), `payload of ${m.id}`).toEqual(payloadSchema(m.schema));
    expect(withoutParserKeys(json.headers.schema)).toEqual(headersSchema(d, m.version));
    expect(json).toMatchObject({ name: d.type, contentType: 'application/json', 'x-schema-version': m.version, 'x-producer': d.producer, 'x-consumers': d.consumers });

    // The producer sends the current version only; each consumer receives every version it accepts.
    const send = document.operations().get(operationId(d.producer, 'send', d.topic));
    expect(send?.action(), `${d.producer} sends to ${d.topic}`).toBe('send');
    expect(send!.channels().all().map((c) => c.id())).toEqual([d.topic]);
    expect(send!.messages().all().map((x) => x.id()).includes(m.id), `${m.id} in ${d.producer}'s send`).toBe(m.supersededBy === undefined);
    for (const consumer of d.consumers) {
      const receive = document.operations().get(operationId(consumer, 'receive', d.topic));
      expect(receive?.action(), `${consumer} receives from ${d.topic}`).toBe('receive');
      expect(receive!.channels().all().map((c) => c.id())).toEqual([d.topic]);
      expect(receive!.messages().all().map((x) => x.id()), `${m.id} in ${consumer}'s receive`).toContain(m.id);
    }
  }
  const expected = versionedMessages(definitions).map((m) => m.id);
  expect(document.components().messages().all().map((m) => m.id()).sort()).toEqual([...expected].sort());
}

describe('the AsyncAPI document', () => {
  it('parses with @asyncapi/parser with no error diagnostics', async () => {
    const diagnostics = await asyncApiDiagnostics(renderAsyncApi());
    const errors = errorsOf(diagnostics);
    if (errors.length > 0) console.error(errors.map(describeDiagnostic).join('\n'));
    expect(errors.map(describeDiagnostic)).toEqual([]);
  });

  it('has every message of the contracts on its topic, with its draft-07 schema, its producer and its consumers', async () => {
    const document = await parsed(renderAsyncApi());
    expect(document.channels().all().map((c) => c.address())).toEqual(ALL_TOPICS);
    expectMatchesContracts(document, allMessages);
  });

  it('keys each message as the definition does, and describes the key', async () => {
    const document = await parsed(renderAsyncApi());
    const key = (id: string) => document.components().messages().get(id)!.bindings().get('kafka')!.value().key as JsonSchema;
    expect(key('order.placed.v1')).toMatchObject({ type: 'string', format: 'uuid', description: expect.stringMatching(/^The order id \(`orderId`/) });
    expect(key('inventory.stock-level-changed.v1')).toMatchObject({ type: 'string', description: expect.stringMatching(/^The SKU \(`sku`/) });
  });

  it('describes the headers the platform writes', () => {
    const placed = { orderId: randomUUID(), customerId: 'alice', lines: [{ sku: 'SKU-1', quantity: 1 }], placedAt: new Date().toISOString() };
    const traceparent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const { headers } = buildMessage(OrderPlaced, placed, { id: randomUUID(), source: 'order-service', correlationId: 'c-1', causationId: 'e-1', traceparent, tracestate: 'k=v' });
    const schema = headersSchema(OrderPlaced, OrderPlaced.version) as { properties: Record<string, { const?: string; pattern?: string }>; required: string[] };
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(headers!).sort());
    for (const name of schema.required) expect(headers, name).toHaveProperty(name);
    for (const [name, value] of Object.entries(headers!)) {
      const property = schema.properties[name]!;
      if (property.const !== undefined) expect(value, name).toBe(property.const);
      if (property.pattern !== undefined) expect(value, name).toMatch(new RegExp(property.pattern));
    }
  });

  it('lists every schema version: previous ones are received, not sent', async () => {
    const definitions = allMessages.map((d) => (d.type === OrderPlaced.type ? OrderPlacedV2 : d));
    const source = asyncApiDocument(definitions, ALL_TOPICS);
    const document = await parsed(source);
    expectMatchesContracts(document, definitions);
    const v1 = document.components().messages().get(messageId(OrderPlaced.type, 1))!.json() as { payload: { schema: unknown }; 'x-superseded-by': string };
    expect(withoutParserKeys(v1.payload.schema)).toEqual(z.toJSONSchema(OrderPlaced.schema, { target: 'draft-7' }));
    expect(v1['x-superseded-by']).toBe('order.placed.v2');
  });

  it('is committed as a fresh generation', () => {
    const committed = fs.existsSync(ASYNCAPI_FILE) ? fs.readFileSync(ASYNCAPI_FILE, 'utf8') : '';
    expect(committed === renderAsyncApi(), OUT_OF_DATE).toBe(true);
  });

  describe('the parser check bites', () => {
    type Editable = { operations: Record<string, { channel: unknown; messages: unknown[] }>; components: { messages: Record<string, Record<string, unknown>> } };
    const fresh = () => asyncApiDocument(allMessages, ALL_TOPICS) as unknown as Editable;
    const errorsAt = async (document: Editable) => errorsOf(await asyncApiDiagnostics(document as unknown as Record<string, unknown>));
    const sendOrderEvents = operationId('order-service', 'send', 'order.events');

    it('on an operation pointing at a missing channel', async () => {
      const broken = fresh();
      broken.operations[sendOrderEvents]!.channel = { $ref: '#/channels/order.evnets' };
      expect((await errorsAt(broken)).map((d) => d.code)).toContain('invalid-ref');
    });

    it('on an operation sending a message of another channel', async () => {
      const broken = fresh();
      broken.operations[sendOrderEvents]!.messages.push({ $ref: '#/channels/catalog.events/messages/catalog.product-added.v1' });
      expect((await errorsAt(broken)).map((d) => d.code)).toEqual(['asyncapi3-operation-messages-from-referred-channel']);
    });

    it('on a payload schema that is not JSON Schema', async () => {
      const broken = fresh();
      broken.components.messages['order.placed.v1']!.payload = { schemaFormat: 'application/schema+json;version=draft-07', schema: { type: 'objekt' } };
      const errors = await errorsAt(broken);
      expect(errors.some((d) => d.path.join('.') === 'components.messages.order.placed.v1.payload.schema.type')).toBe(true);
    });
  });
});
