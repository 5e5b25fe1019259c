import { randomUUID } from 'node:crypto';
import { buildMessage, contracts, decodeContract, type MessageData, type MessageDefinition } from '@shop/contracts';
import type { ConsumedMessage, OutgoingMessage, PublishedMessage } from '@shop/platform';
import { startServiceForTest, waitFor, type GivenEvent, type ServiceUnderTest, type TestResponse } from '@shop/platform/testing';
import { archivedEvent } from '../src/archive/archive';
import { analyticsService } from '../src/composition';
import { ARCHIVE_CONSUMER } from '../src/integration/inbound/archived-facts';
import { allProjections } from '../src/read-models/all-projections';

export const eur = (amount: number) => ({ amount, currency: 'EUR' });

/** A contract message as its producer would build it. */
export function message<D extends MessageDefinition>(definition: D, data: MessageData<D>, id: string = randomUUID()): OutgoingMessage {
  return buildMessage(definition, data, { id, source: definition.producer, correlationId: `corr-${id}` });
}

/** An outgoing message as the consumer would receive it. */
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
