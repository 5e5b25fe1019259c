import type { Knex } from 'knex';

export interface StockAvailability {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

interface Row {
  sku: string;
  on_hand: number;
  reserved: number;
  available: number;
}

/** Levels of the given SKUs from the read model, in the order asked; a SKU never stocked reads as zeros. */
export async function stockLevelsOf(db: Knex, skus: readonly string[]): Promise<StockAvailability[]> {
  const rows = (await db('stock_levels').whereIn('sku', [...skus]).select('sku', 'on_hand', 'reserved', 'available')) as Row[];
  const bySku = new Map(rows.map((r) => [r.sku, r]));
  return skus.map((sku) => {
    const r = bySku.get(sku);
    return { sku, onHand: r?.on_hand ?? 0, reserved: r?.reserved ?? 0, available: r?.available ?? 0 };
  });
}
