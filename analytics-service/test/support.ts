import { randomUUID } from 'node:crypto';
import {
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  OrderRejected,
  SagaEnded,
  StockLevelChanged,
  buildMessage,
  contracts,
  decodeContract,
  type MessageData,
  type MessageDefinition,
  type OrderChannel,
} from '@shop/contracts';
import { MessageProcessor, type ConsumedMessage, type OutgoingMessage, type EventStore, type Inbox, type PublishedMessage } from '@shop/platform';
import { startServiceForTest, waitFor, type GivenEvent, type ServiceUnderTest, type TestResponse } from '@shop/platform/testing';
import { archivedEvent } from '../src/archive/archive';
import { analyticsService } from '../src/composition';
import { ARCHIVE_CONSUMER, archiveHandlers } from '../src/integration/inbound/archived-facts';
import { allProjections } from '../src/read-models/all-projections';

export const eur = (amount: number) => ({ amount, currency: 'EUR' });

/** A contract message as its producer would build it (at `version`, an older one it can still publish, else the current one). */
export function message<D extends MessageDefinition>(definition: D, data: MessageData<D>, id: string = randomUUID(), version = definition.version): OutgoingMessage {
  return buildMessage(definition, data, { id, source: definition.producer, correlationId: `corr-${id}` }, { version });
}

/** An outgoing message as the consumer would receive it. */
/** Contract messages about orders, products, stock and sagas, timed in seconds after `T0`: the projections' test inputs. */
export const T0 = '2026-03-02T10:00:00.000Z';
export const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

const LINES = [{ sku: 'SKU-A', quantity: 2 }, { sku: 'SKU-B', quantity: 1 }];
export const placed = (orderId: string, seconds = 0, lines = LINES, channel: OrderChannel = 'web') =>
  message(OrderPlaced, { orderId, customerId: 'cust-1', lines, placedAt: at(seconds), channel });
/** order.placed as an order service publishing v1 sends it (no channel: the archive's upcaster reads it as 'api'). */
export const placedV1 = (orderId: string, seconds = 0, lines = LINES) =>
  message(OrderPlaced, { orderId, customerId: 'cust-1', lines, placedAt: at(seconds), channel: 'api' }, randomUUID(), 1);
export const confirmed = (orderId: string, seconds = 10, currency = 'EUR') =>
  message(OrderConfirmed, {
    orderId,
    customerId: 'cust-1',
    lines: [
      { sku: 'SKU-A', quantity: 2, unitPrice: { amount: 1000, currency }, lineTotal: { amount: 2000, currency } },
      { sku: 'SKU-B', quantity: 1, unitPrice: { amount: 500, currency }, lineTotal: { amount: 500, currency } },
    ],
    total: { amount: 2500, currency },
    confirmedAt: at(seconds),
  });
export const rejected = (orderId: string, reason: string, seconds = 10) => message(OrderRejected, { orderId, customerId: 'cust-1', reason, rejectedAt: at(seconds) });
export const cancelled = (orderId: string, seconds = 70) =>
  message(OrderCancelled, { orderId, customerId: 'cust-1', reason: 'changed my mind', cancelledAt: at(seconds) });
export const sagaEnded = (orderId: string, durationMs: number, compensations = 0, seconds = 20) =>
  message(SagaEnded, {
    sagaId: `place-order-${orderId}`,
    sagaType: 'place-order',
    orderId,
    outcome: compensations > 0 ? 'rejected' : 'completed',
    compensations,
    startedAt: new Date(Date.parse(at(seconds)) - durationMs).toISOString(),
    endedAt: at(seconds),
    durationMs,
  });
export const stock = (sku: string, available: number, cause: MessageData<typeof StockLevelChanged>['cause'], seconds = 0, orderId?: string) =>
  message(StockLevelChanged, { sku, onHand: available + 1, reserved: 1, available, sold: 3, received: 10, cause, ...(orderId ? { orderId } : {}), changedAt: at(seconds) });

export function consumed(m: OutgoingMessage, offset = 0): ConsumedMessage {
  return { ...m, partition: 0, offset, headers: m.headers ?? {}, publishedAt: new Date(), attempt: 1 };
}

/**
 * A contract message as the archive stores it (`archivedEvent`: its stream,
 * type, schema version and data, its envelope and bus coordinates as
 * metadata), for projection specifications.
 */
export function archived(m: OutgoingMessage, offset = 0): GivenEvent {
  const received = consumed(m, offset);
  const { streamId, event } = archivedEvent(received, decodeContract(contracts, received).envelope);
  return { streamId, type: event.type, data: event.data, ...(event.metadata ? { metadata: event.metadata } : {}), ...(event.schemaVersion ? { schemaVersion: event.schemaVersion } : {}) };
}

/**
 * What one analytics process runs for the archived topics, on the harness's
 * event store: the platform's message path over the archive's handlers, so a
 * test can hand it messages directly (the running service's projections then
 * read what it archived).
 */
export const archiveProcess = (store: EventStore & Inbox): MessageProcessor =>
  new MessageProcessor({ consumer: ARCHIVE_CONSUMER, handlers: archiveHandlers(), store, inbox: store });

/** What the analytics tests add to the platform's harness: reads, publishing on the bus, waiting for the archive and the projections. */
export interface AnalyticsHelpers {
  /** A GET as `token`'s bearer (none: anonymous). */
  get(path: string, token?: string): Promise<TestResponse>;
  publish(messages: OutgoingMessage[]): Promise<PublishedMessage[]>;
  /** Waits until the archive consumer's group has moved past every published message. */
  waitConsumed(published: PublishedMessage[]): Promise<void>;
  /** Waits until every projection reflects the archive's head; returns the head. */
  projectionsCaughtUp(): Promise<number>;
  /** The URL of the service's own database (what `DATABASE_URL` names). */
  databaseUrl: string;
}

export type AnalyticsUnderTest = ServiceUnderTest & AnalyticsHelpers;

/** The analytics service started in-process by the platform's harness (fresh service and bus databases), with the helpers above. */
export async function startAnalytics(label: string, env: Record<string, string> = {}): Promise<AnalyticsUnderTest> {
  const svc = await startServiceForTest(analyticsService, { label, env });
  const helpers: AnalyticsHelpers = {
    get: (path, token) => svc.request('GET', path, token ? { token } : {}),
    publish: (messages) => svc.bus.publish(messages),
    async waitConsumed(published) {
      await waitFor(async () => {
        for (const p of published) {
          const row = (await svc.busDb('bus_group_offsets')
            .where({ group_id: ARCHIVE_CONSUMER, topic: p.topic, partition: p.partition })
            .first('committed')) as { committed: string } | undefined;
          if (!row || Number(row.committed) <= p.offset) return false;
        }
        return true;
      }, 20_000);
    },
    async projectionsCaughtUp() {
      const head = await svc.store.headPosition();
      await waitFor(async () => {
        const rows = (await svc.db('projection_checkpoints').where({ slot: 'live' }).select('position')) as { position: string }[];
        return rows.length === allProjections().length && rows.every((r) => Number(r.position) >= head);
      }, 20_000);
      return head;
    },
    databaseUrl: svc.env.DATABASE_URL!,
  };
  return Object.assign(svc, helpers);
}
