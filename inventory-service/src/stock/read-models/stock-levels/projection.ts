import { insertRows, type Column, type Projection } from '@shop/platform';
import { stockCodec } from '../../stock';

/**
 * Current levels per SKU, for list queries. Every SKU event carries the
 * levels after it, so a row is simply the latest event's levels; the stream
 * revision guards the upsert, so applying an event twice (or an older one
 * after a newer one) changes nothing.
 */
const COLUMNS: readonly Column[] = [
  { name: 'sku', type: 'text' },
  { name: 'on_hand', type: 'int' },
  { name: 'reserved', type: 'int' },
  { name: 'available', type: 'int' },
  { name: 'sold', type: 'int' },
  { name: 'received', type: 'int' },
  { name: 'revision', type: 'int' },
  { name: 'updated_at', type: 'timestamptz' },
];

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
  readsMetadata: false,
  apply: (event, ctx) => stockLevelsProjection.applyBatch!([event], ctx),
  /** The page's last levels per SKU, in one upsert (guarded by revision). */
  async applyBatch(events, ctx) {
    const latest = new Map<string, unknown[]>();
    for (const event of events) {
      const e = stockCodec.decode(event);
      latest.set(e.sku, [e.sku, e.levels.onHand, e.levels.reserved, e.levels.available, e.levels.sold, e.levels.received, event.revision, event.recordedAt.toISOString()]);
    }
    await insertRows(
      ctx,
      'stock_levels',
      COLUMNS,
      [...latest.values()],
      `on conflict (sku) do update set
         on_hand = excluded.on_hand, reserved = excluded.reserved, available = excluded.available,
         sold = excluded.sold, received = excluded.received, revision = excluded.revision, updated_at = excluded.updated_at
       where t.revision < excluded.revision`,
    );
  },
};
