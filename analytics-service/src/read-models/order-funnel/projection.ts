import { OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected, contracts, type MessageData, type Registry } from '@shop/contracts';
import type { Projection } from '@shop/platform';
import { readArchived } from '../../archive/archive';
import { addTo, appliedTable, firstApplication, minuteOf } from '../support';

export const FUNNEL_STAGES = ['placed', 'confirmed', 'rejected', 'cancelled'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

/**
 * Read model `order_funnel`: per UTC minute, how many orders were placed,
 * confirmed, rejected (by reason) and cancelled, at the time each happened.
 * Idempotent through `order_funnel_applied` (an event counts once).
 */
export function orderFunnelProjection(registry: Registry = contracts): Projection {
  return {
    name: 'order_funnel',
    filter: { categories: ['order'] },
    tables: {
      order_funnel_minute: (t) => `
        create table ${t} (
          minute timestamptz not null,
          stage text not null,
          reason text not null default '',
          count bigint not null,
          primary key (minute, stage, reason)
        )`,
      order_funnel_applied: appliedTable,
    },
    async apply(event, ctx) {
      let stage: FunnelStage;
      let at: string;
      let reason = '';
      switch (event.type) {
        case OrderPlaced.type:
          stage = 'placed';
          at = readArchived<MessageData<typeof OrderPlaced>>(event, registry).placedAt;
          break;
        case OrderConfirmed.type:
          stage = 'confirmed';
          at = readArchived<MessageData<typeof OrderConfirmed>>(event, registry).confirmedAt;
          break;
        case OrderRejected.type: {
          const d = readArchived<MessageData<typeof OrderRejected>>(event, registry);
          stage = 'rejected';
          at = d.rejectedAt;
          reason = d.reason;
          break;
        }
        case OrderCancelled.type:
          stage = 'cancelled';
          at = readArchived<MessageData<typeof OrderCancelled>>(event, registry).cancelledAt;
          break;
        default:
          return;
      }
      if (!(await firstApplication(ctx, 'order_funnel_applied', event))) return;
      await addTo(ctx, 'order_funnel_minute', { minute: minuteOf(at), stage, reason }, { count: 1 });
    },
  };
}
