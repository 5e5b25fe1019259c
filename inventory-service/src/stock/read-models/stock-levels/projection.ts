import type { Projection, RecordedEvent } from '@shop/platform';
import type { StockEvent } from '../../stock';

/**
 * Current levels per SKU, for list queries. Every SKU event carries the
 * levels after it, so a row is simply the latest event's levels; the stream
 * revision guards the upsert, so applying an event twice (or an older one
 * after a newer one) changes nothing.
 */
export const stockLevelsProjection: Projection = {
  name: 'stock_levels',
  tables: {
    stock_levels: (table) => `
      create table ${table} (
        sku text primary key,
        on_hand integer not null,
        reserved integer not null,
        available integer not null,
        sold integer not null,
        received integer not null,
        revision integer not null,
        updated_at timestamptz not null
      )`,
  },
  filter: { categories: ['stock'] },
  async apply(event: RecordedEvent, { trx, table }) {
    const e = { type: event.type, ...(event.data as object) } as StockEvent;
    if (!e.levels) return;
    const t = table('stock_levels');
    await trx.raw(
      `insert into ${t} (sku, on_hand, reserved, available, sold, received, revision, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (sku) do update set
         on_hand = excluded.on_hand, reserved = excluded.reserved, available = excluded.available,
         sold = excluded.sold, received = excluded.received, revision = excluded.revision, updated_at = excluded.updated_at
       where ${t}.revision < excluded.revision`,
      [e.sku, e.levels.onHand, e.levels.reserved, e.levels.available, e.levels.sold, e.levels.received, event.revision, event.recordedAt],
    );
  },
};
