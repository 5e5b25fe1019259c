import { OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected, contracts, type MessageData, type Registry } from '@shop/contracts';
import type { Projection, RecordedEvent } from '@shop/platform';
import { readArchived } from '../../archive/archive';
import { CounterFold, minuteKey } from '../support';

export const FUNNEL_STAGES = ['placed', 'confirmed', 'rejected', 'cancelled'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

const KEY = [
  { name: 'minute', type: 'timestamptz' },
  { name: 'stage', type: 'text' },
  { name: 'reason', type: 'text' },
];

/**
 * Read model `order_funnel`: per UTC minute, how many orders were placed,
 * confirmed, rejected (by reason) and cancelled, at the time each happened.
 * Idempotent: each row remembers the last event counted into it
 * (`last_position`), and events at or before it are not counted again.
 */
export function orderFunnelProjection(registry: Registry = contracts): Projection {
  const projection: Projection = {
    name: 'order_funnel',
    filter: { categories: ['order'], types: [OrderPlaced.type, OrderConfirmed.type, OrderRejected.type, OrderCancelled.type] },
    readsMetadata: false,
    tables: {
      order_funnel_minute: (t) => `
        create table ${t} (
          minute timestamptz not null,
          stage text not null,
          reason text not null default '',
          count bigint not null,
          last_position bigint not null,
          primary key (minute, stage, reason)
        )`,
    },
    apply: (event, ctx) => projection.applyBatch!([event], ctx),
    async applyBatch(events, ctx) {
      const counts = new CounterFold('order_funnel_minute', KEY, ['count'], { highWater: true });
      for (const event of events) {
        const step = stageOf(event, registry);
        if (step) counts.add([minuteKey(step.at), step.stage, step.reason], [1], event.position);
      }
      await counts.write(ctx);
    },
  };
  return projection;
}

function stageOf(event: RecordedEvent, registry: Registry): { stage: FunnelStage; at: string; reason: string } | undefined {
  switch (event.type) {
    case OrderPlaced.type:
      return { stage: 'placed', at: readArchived<MessageData<typeof OrderPlaced>>(event, registry).placedAt, reason: '' };
    case OrderConfirmed.type:
      return { stage: 'confirmed', at: readArchived<MessageData<typeof OrderConfirmed>>(event, registry).confirmedAt, reason: '' };
    case OrderRejected.type: {
      const d = readArchived<MessageData<typeof OrderRejected>>(event, registry);
      return { stage: 'rejected', at: d.rejectedAt, reason: d.reason };
    }
    case OrderCancelled.type:
      return { stage: 'cancelled', at: readArchived<MessageData<typeof OrderCancelled>>(event, registry).cancelledAt, reason: '' };
    default:
      return undefined;
  }
}
