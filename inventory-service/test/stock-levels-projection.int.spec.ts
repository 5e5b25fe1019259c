import { createKnex, type RecordedEvent } from '@shop/platform';
import { ProjectionSpecification, createTestDatabase, type GivenEvent } from '@shop/platform/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stockDecider, type StockCommand } from '../src/stock/decide';
import { stockLevelsProjection } from '../src/stock/read-models/stock-levels/projection';
import { stockLevelsOf } from '../src/stock/read-models/stock-levels/query';
import type { Stock } from '../src/stock/stock';
import { stockStreamId } from '../src/stock/stock-ledger';

const orderId = '5b0f0c3e-1c1a-4c3e-9a1e-2f3d4c5b6a70';
const other = '7d9e8f10-2b3c-4d5e-8f90-a1b2c3d4e5f6';

const event = (revision: number, onHand: number, reserved: number): RecordedEvent => ({
  id: `00000000-0000-4000-8000-00000000000${revision}`,
  streamId: 'stock-SKU-P',
  revision,
  position: revision + 1,
  type: 'StockReserved',
  schemaVersion: 1,
  data: { sku: 'SKU-P', orderId, quantity: 1, reservedAt: '2025-01-01T00:00:00Z', levels: { onHand, reserved, available: onHand - reserved, sold: 0, received: onHand } },
  metadata: {},
  recordedAt: new Date('2025-01-01T00:00:00Z'),
});

/** The events the stock decider records for the commands, in order, as they land on the SKU streams. */
function history(commands: readonly StockCommand[]): GivenEvent[] {
  const states = new Map<string, Stock>();
  return commands.flatMap((command) => {
    const state = states.get(command.sku) ?? stockDecider.initialState;
    const events = stockDecider.decide(command, state);
    states.set(command.sku, events.reduce(stockDecider.evolve, state));
    return events.map(({ type, ...data }) => ({ streamId: stockStreamId(command.sku), type, data }));
  });
}

describe('stock-levels projection', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: Knex;
  beforeAll(async () => {
    db = await createTestDatabase('inventory_levels');
    knex = createKnex(db);
    await knex.raw(stockLevelsProjection.tables.stock_levels!('stock_levels'));
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });
  const apply = (e: RecordedEvent) => knex.transaction((trx) => stockLevelsProjection.apply(e, { trx, table: (t) => t }));

  it('changes nothing when the same event is applied twice, nor when an older one comes late', async () => {
    await apply(event(0, 10, 1));
    await apply(event(1, 10, 2));
    const once = await knex('stock_levels').select();
    await apply(event(1, 10, 2));
    await apply(event(0, 10, 1));
    expect(await knex('stock_levels').select()).toEqual(once);
    expect(await stockLevelsOf(knex, ['SKU-P', 'SKU-NONE'])).toEqual([
      { sku: 'SKU-P', onHand: 10, reserved: 2, available: 8 },
      { sku: 'SKU-NONE', onHand: 0, reserved: 0, available: 0 },
    ]);
  });

  it('holds the latest levels of every SKU, the same in one page, in pages, and with every page and event applied twice', async () => {
    const now = '2025-01-01T10:00:00.000Z';
    const events = history([
      { type: 'ReceiveStock', sku: 'SKU-A', quantity: 10, now },
      { type: 'ReceiveStock', sku: 'SKU-B', quantity: 5, now },
      { type: 'ReserveStockForOrder', sku: 'SKU-A', orderId, quantity: 3, now },
      { type: 'AdjustStock', sku: 'SKU-A', delta: -2, reason: 'damaged', now },
      { type: 'ReserveStockForOrder', sku: 'SKU-B', orderId: other, quantity: 2, now },
      { type: 'CommitStockForOrder', sku: 'SKU-A', orderId, now },
      { type: 'ReleaseStockForOrder', sku: 'SKU-B', orderId: other, now },
      { type: 'RestockForOrder', sku: 'SKU-A', orderId, now },
      { type: 'ReceiveStock', sku: 'SKU-B', quantity: 4, now },
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'StockReceived',
      'StockReceived',
      'StockReserved',
      'StockAdjusted',
      'StockReserved',
      'StockReservationCommitted',
      'StockReservationReleased',
      'StockRestocked',
      'StockReceived',
    ]);

    const rows = await ProjectionSpecification.for(stockLevelsProjection, { db: knex }).given(events).rows();
    // Revisions per stream from 0; recorded one second apart from 2030-01-01 (the kit's clock).
    expect(rows.stock_levels).toEqual([
      { sku: 'SKU-A', on_hand: 8, reserved: 0, available: 8, sold: 0, received: 10, revision: 4, updated_at: new Date('2030-01-01T00:00:07.000Z') },
      { sku: 'SKU-B', on_hand: 9, reserved: 0, available: 9, sold: 0, received: 9, revision: 3, updated_at: new Date('2030-01-01T00:00:08.000Z') },
    ]);
    expect(
      await ProjectionSpecification.for(stockLevelsProjection, { db: knex })
        .given(events.slice(0, 5))
        .rows(),
    ).toEqual({
      stock_levels: [
        { sku: 'SKU-A', on_hand: 8, reserved: 3, available: 5, sold: 0, received: 10, revision: 2, updated_at: new Date('2030-01-01T00:00:03.000Z') },
        { sku: 'SKU-B', on_hand: 5, reserved: 2, available: 3, sold: 0, received: 5, revision: 1, updated_at: new Date('2030-01-01T00:00:04.000Z') },
      ],
    });
  });
});
