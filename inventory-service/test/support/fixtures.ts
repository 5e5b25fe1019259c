import { randomUUID } from 'node:crypto';
import { buildMessage, type MessageData, type MessageDefinition } from '@shop/contracts';
import type { ConsumedMessage } from '@shop/platform';
import type { createTestDatabase } from '@shop/platform/testing';

export type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

export const urlOf = (d: TestDb): string => `postgres://${d.user}:${encodeURIComponent(d.password)}@${d.host}:${d.port}/${d.database}`;

/** A fresh SKU per test, valid under the contracts' SKU pattern. */
export const freshSku = (prefix = 'T'): string => `${prefix}-${randomUUID().slice(0, 8).toUpperCase()}`;

/** A coordinator command as the consumer would receive it from the bus. */
export function commandMessage<D extends MessageDefinition>(definition: D, data: MessageData<D>, id: string = randomUUID()): ConsumedMessage {
  const out = buildMessage(definition, data, { id, source: 'coordinator-service', correlationId: randomUUID() });
  return { ...out, headers: out.headers ?? {}, partition: 0, offset: 0, publishedAt: new Date(), attempt: 1 };
}
