import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { ALL_TOPICS, OrderPlaced, allMessages, buildMessage, defineMessage, type MessageDefinition } from '../src/index';
import { asyncApiDocument, headersSchema, messageId, operationId, payloadSchema, versionedMessages, type JsonSchema } from '../src/asyncapi';
import { ASYNCAPI_FILE, OUT_OF_DATE, asyncApiDiagnostics, describeDiagnostic, errorsOf, renderAsyncApi } from '../../infra/contracts/asyncapi-cli';

/** `order.placed` as if v1 could no longer be built: read by consumers, never sent. */
const OrderPlacedReadOnlyV1 = defineMessage({ ...OrderPlaced, previous: OrderPlaced.previous!.map(({ downcast: _downcast, ...p }) => p) });

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

    // The producer sends the current version and those it can downcast to; each consumer receives every version it accepts.
    const send = document.operations().get(operationId(d.producer, 'send', d.topic));
    expect(send?.action(), `${d.producer} sends to ${d.topic}`).toBe('send');
    expect(send!.channels().all().map((c) => c.id())).toEqual([d.topic]);
    expect(m.sent).toBe(m.supersededBy === undefined || typeof d.previous?.find((p) => p.version === m.version)?.downcast === 'function');
    expect(send!.messages().all().map((x) => x.id()).includes(m.id), `${m.id} in ${d.producer}'s send`).toBe(m.sent);
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
    const placed = { orderId: randomUUID(), customerId: 'alice', lines: [{ sku: 'SKU-1', quantity: 1 }], placedAt: new Date().toISOString(), channel: 'web' as const };
    const traceparent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    for (const version of [OrderPlaced.version, 1]) {
      const { headers } = buildMessage(OrderPlaced, placed, { id: randomUUID(), source: 'order-service', correlationId: 'c-1', causationId: 'e-1', traceparent, tracestate: 'k=v' }, { version });
      const schema = headersSchema(OrderPlaced, version) as { properties: Record<string, { const?: string; pattern?: string }>; required: string[] };
      expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(headers!).sort());
      for (const name of schema.required) expect(headers, name).toHaveProperty(name);
      for (const [name, value] of Object.entries(headers!)) {
        const property = schema.properties[name]!;
        if (property.const !== undefined) expect(value, `${name} of v${version}`).toBe(property.const);
        if (property.pattern !== undefined) expect(value, name).toMatch(new RegExp(property.pattern));
      }
    }
  });

  it('lists every schema version: previous ones are received, and sent only while their producer can downcast to them', async () => {
    const document = await parsed(renderAsyncApi());
    const v1 = document.components().messages().get(messageId(OrderPlaced.type, 1))!.json() as { payload: { schema: unknown }; 'x-superseded-by': string; description: string };
    expect(withoutParserKeys(v1.payload.schema)).toEqual(z.toJSONSchema(OrderPlaced.previous![0]!.schema, { target: 'draft-7' }));
    expect(v1['x-superseded-by']).toBe('order.placed.v2');
    expect(v1.description).toContain('can still send it (downcast)');
    const sends = (d: AsyncAPIDocumentInterface) => d.operations().get(operationId('order-service', 'send', 'order.events'))!.messages().all().map((m) => m.id());
    expect(sends(document)).toEqual(expect.arrayContaining(['order.placed.v2', 'order.placed.v1']));
    for (const consumer of OrderPlaced.consumers) {
      const received = document.operations().get(operationId(consumer, 'receive', 'order.events'))!.messages().all().map((m) => m.id());
      expect(received).toEqual(expect.arrayContaining(['order.placed.v2', 'order.placed.v1']));
    }

    const definitions = allMessages.map((d) => (d.type === OrderPlaced.type ? OrderPlacedReadOnlyV1 : d));
    const readOnly = await parsed(asyncApiDocument(definitions, ALL_TOPICS));
    expectMatchesContracts(readOnly, definitions);
    expect(sends(readOnly)).toContain('order.placed.v2');
    expect(sends(readOnly)).not.toContain('order.placed.v1');
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
