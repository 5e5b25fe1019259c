import { createKnex, type RecordedEvent } from '@shop/platform';
import { createTestDatabase } from '@shop/platform/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stockLevelsProjection } from '../src/stock/read-models/stock-levels/projection';
import { stockLevelsOf } from '../src/stock/read-models/stock-levels/query';
import type { TestDb } from './support/fixtures';

const event = (revision: number, onHand: number, reserved: number): RecordedEvent => ({
  id: `00000000-0000-4000-8000-00000000000${revision}`,
  streamId: 'stock-SKU-P',
  revision,
  position: revision + 1,
  type: 'StockReserved',
  schemaVersion: 1,
  data: { sku: 'SKU-P', orderId: 'o', quantity: 1, reservedAt: '2025-01-01T00:00:00Z', levels: { onHand, reserved, available: onHand - reserved, sold: 0, received: onHand } },
  metadata: {},
  recordedAt: new Date('2025-01-01T00:00:00Z'),
});

describe('stock-levels projection', () => {
  let db: TestDb;
  let knex: Knex;
  beforeAll(async () => {
    db = await createTestDatabase('inventory_levels');
    knex = createKnex(db);
    await knex.raw(stockLevelsProjection.tables.stock_levels!('stock_levels'));
  });
  afterAll(async () => {
    await knex.destroy();
    await db.drop();
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
});
