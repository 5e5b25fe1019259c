import { StockLevelChanged, contracts, type MessageData, type Registry } from '@shop/contracts';
import type { Projection } from '@shop/platform';
import { readArchived } from '../../archive/archive';
import { insertRows, rowsByKey } from '../support';

const LEVEL_COLUMNS = [
  { name: 'sku', type: 'text' },
  { name: 'on_hand', type: 'bigint' },
  { name: 'reserved', type: 'bigint' },
  { name: 'available', type: 'bigint' },
  { name: 'sold', type: 'bigint' },
  { name: 'received', type: 'bigint' },
  { name: 'last_cause', type: 'text' },
  { name: 'changed_at', type: 'timestamptz' },
  { name: 'last_position', type: 'bigint' },
];
const STOCK_OUT_COLUMNS = [
  { name: 'event_id', type: 'uuid' },
  { name: 'sku', type: 'text' },
  { name: 'at', type: 'timestamptz' },
  { name: 'cause', type: 'text' },
  { name: 'order_id', type: 'uuid' },
  { name: 'position', type: 'bigint' },
];

/**
 * Read model `stock_levels`: the latest figures per SKU (from
 * `inventory.stock-level-changed`, every cause including `restocked`), and a
 * stock-out row each time a SKU's available stock drops to 0 from above 0
 * (or is first seen at 0). Idempotent: a SKU row only moves forward in
 * archive position, and stock-outs are keyed by the event id.
 */
export function stockLevelsProjection(registry: Registry = contracts): Projection {
  const projection: Projection = {
    name: 'stock_levels',
    filter: { categories: ['inventory'], types: [StockLevelChanged.type] },
    readsMetadata: false,
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
    apply: (event, ctx) => projection.applyBatch!([event], ctx),
    async applyBatch(events, ctx) {
      const changes = events
        .filter((e) => e.type === StockLevelChanged.type)
        .map((e) => ({ event: e, d: readArchived<MessageData<typeof StockLevelChanged>>(e, registry) }));
      if (changes.length === 0) return;
      const skus = [...new Set(changes.map((c) => c.d.sku))];
      const stored = await rowsByKey<{ sku: string; available: string; last_position: string }>(
        ctx,
        'stock_levels',
        [LEVEL_COLUMNS[0]!],
        skus.map((s) => [s]),
        ['sku', 'available', 'last_position'],
      );
      // Per SKU: the figures last seen (stored, then each change of the page in order).
      const last = new Map<string, { available: number; position: number; row?: unknown[] }>(
        stored.map((r) => [r.sku, { available: Number(r.available), position: Number(r.last_position) }]),
      );
      const stockOuts: unknown[][] = [];
      for (const { event, d } of changes) {
        const before = last.get(d.sku);
        if (before && before.position >= event.position) continue;
        const wasAvailable = before ? before.available > 0 : true;
        if (d.available === 0 && wasAvailable) {
          stockOuts.push([event.id, d.sku, d.changedAt, d.cause, d.orderId ?? null, event.position]);
        }
        last.set(d.sku, {
          available: d.available,
          position: event.position,
          row: [d.sku, d.onHand, d.reserved, d.available, d.sold, d.received, d.cause, d.changedAt, event.position],
        });
      }
      await insertRows(
        ctx,
        'stock_levels',
        LEVEL_COLUMNS,
        [...last.values()].flatMap((l) => (l.row ? [l.row] : [])),
        `on conflict (sku) do update set ${LEVEL_COLUMNS.slice(1)
          .map((c) => `${c.name} = excluded.${c.name}`)
          .join(', ')} where t.last_position < excluded.last_position`,
      );
      await insertRows(ctx, 'stock_outs', STOCK_OUT_COLUMNS, stockOuts, 'on conflict (event_id) do nothing');
    },
  };
  return projection;
}
