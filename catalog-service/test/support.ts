import { randomBytes, randomUUID } from 'node:crypto';
import { contracts, decodeContract } from '@shop/contracts';
import { MessageProcessor, systemClock, type Bus, type Envelope, type EventStore, type Inbox } from '@shop/platform';
import { createTestDatabase, startServiceForTest, type ServiceUnderTest, type TestResponse } from '@shop/platform/testing';
import { catalogService } from '../src/composition';
import { CONSUMER, catalogCommandHandlers } from '../src/integration/inbound/catalog-commands';
import { OrderPricing } from '../src/pricing/order-pricing';
import { databaseUrl } from '@shop/platform';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

/** A test database's connection URL (for a service started as a process). */
export const urlOf = (d: TestDatabase): string =>
  databaseUrl(d);

/** A SKU no other test uses. */
export const freshSku = (prefix = 'T'): string => `${prefix}-${randomBytes(5).toString('hex').toUpperCase()}`;

export interface Catalog extends ServiceUnderTest {
  /** Tokens of the admin 'alice' and the customer 'bob'. */
  adminToken: string;
  customerToken: string;
  /** An HTTP call, with a token and a JSON body when given. */
  call(method: string, path: string, options?: { body?: unknown; token?: string }): Promise<TestResponse>;
  /** An HTTP call as the admin. */
  admin(method: string, path: string, body?: unknown): Promise<TestResponse>;
}

/** The catalog service on `startServiceForTest`, with its admin's and a customer's tokens. */
export async function startCatalog(label: string): Promise<Catalog> {
  const harness = await startServiceForTest(catalogService, { label });
  const [adminToken, customerToken] = await Promise.all([harness.token('admin', 'alice'), harness.token('customer', 'bob')]);
  const call: Catalog['call'] = (method, path, options = {}) => harness.request(method, path, options);
  return Object.assign(harness, {
    adminToken,
    customerToken,
    call,
    admin: (method: string, path: string, body?: unknown) => call(method, path, { body, token: adminToken }),
  });
}

/**
 * What one process of the service runs for `catalog.commands`, on the
 * harness's event store: the platform's message path over the real pricing,
 * so a test can hand it messages directly.
 */
export function catalogProcess(store: EventStore & Inbox) {
  const processor = new MessageProcessor({ consumer: CONSUMER, handlers: catalogCommandHandlers(new OrderPricing(systemClock)), store, inbox: store });
  return { processor };
}

/** A test consumer, in a group of its own, that keeps every envelope it reads from `topic`. */
export async function listen(bus: Bus, topic: string) {
  const received: { envelope: Envelope; data: unknown; key: string }[] = [];
  const consumer = bus.consumer({
    groupId: `test-${randomUUID()}`,
    topics: [topic],
    startFrom: 'earliest',
    handler: async (message) => {
      const { envelope, data } = decodeContract(contracts, message);
      received.push({ envelope, data, key: message.key });
    },
  });
  await consumer.start();
  return {
    received,
    ofType: (type: string, subject?: string) =>
      received.filter((m) => m.envelope.type === type && (subject === undefined || m.envelope.subject === subject)),
    stop: () => consumer.stop(),
  };
}
