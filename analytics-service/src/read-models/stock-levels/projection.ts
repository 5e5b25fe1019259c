import { StockLevelChanged, contracts, type MessageData, type Registry } from '@shop/contracts';
import type { Projection } from '@shop/platform';
import { readArchived } from '../../archive/archive';

/**
 * Read model `stock_levels`: the latest figures per SKU (from
 * `inventory.stock-level-changed`, every cause including `restocked`), and a
 * stock-out row each time a SKU's available stock drops to 0 from above 0
 * (or is first seen at 0). Idempotent: a SKU row only moves forward in
 * archive position, and stock-outs are keyed by the event id.
 */
export function stockLevelsProjection(registry: Registry = contracts): Projection {
  return {
    name: 'stock_levels',
    filter: { categories: ['inventory'] },
    tables: {
      stock_levels: (t) => `
        create table ${t} (
          sku text primary key,
          on_hand bigint not null,
          reserved bigint not null,
          available bigint not null,
          sold bigint not null,
          received bigint not null,
          last_cause text not null,
          changed_at timestamptz not null,
          last_position bigint not null
        )`,
      stock_outs: (t) => `
        create table ${t} (
          event_id uuid primary key,
          sku text not null,
          at timestamptz not null,
          cause text not null,
          order_id uuid,
          position bigint not null
        );
        create index on ${t} (sku, position desc)`,
    },
    async apply(event, { trx, table }) {
      if (event.type !== StockLevelChanged.type) return;
      const d = readArchived<MessageData<typeof StockLevelChanged>>(event, registry);
      const levels = table('stock_levels');
      const row = (await trx(levels).where({ sku: d.sku }).forUpdate().first('available', 'last_position')) as
        | { available: string; last_position: string }
        | undefined;
      if (row && Number(row.last_position) >= event.position) return;
      const values = {
        on_hand: d.onHand,
        reserved: d.reserved,
        available: d.available,
        sold: d.sold,
        received: d.received,
        last_cause: d.cause,
        changed_at: d.changedAt,
        last_position: event.position,
      };
      if (row) await trx(levels).where({ sku: d.sku }).update(values);
      else await trx(levels).insert({ sku: d.sku, ...values });
      const wasAvailable = row ? Number(row.available) > 0 : true;
      if (d.available === 0 && wasAvailable) {
        await trx(table('stock_outs'))
          .insert({ event_id: event.id, sku: d.sku, at: d.changedAt, cause: d.cause, order_id: d.orderId ?? null, position: event.position })
          .onConflict('event_id')
          .ignore();
      }
    },
  };
}
