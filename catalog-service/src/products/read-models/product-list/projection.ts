import type { Projection, RecordedEvent } from '@shop/platform';
import { productCodec } from '../../product';

export const PRODUCT_TABLE = 'catalog_products';

/**
 * One row per product, for the public list and search. Each row remembers the
 * log position of the last event applied to it and ignores events at or
 * before it, so applying an event twice changes nothing. Index names are left
 * to PostgreSQL so a rebuild's shadow table never collides with the live one.
 */
export const productListProjection: Projection = {
  name: 'catalog_products',
  tables: {
    [PRODUCT_TABLE]: (t) => `
      create table ${t} (
        sku text primary key,
        name text not null,
        description text not null,
        category text not null,
        price_amount bigint not null,
        price_currency text not null,
        status text not null,
        added_at timestamptz not null,
        discontinued_at timestamptz,
        position bigint not null
      );
      create index on ${t} (name, sku);
      create index on ${t} (category, name, sku)`,
  },
  filter: { categories: ['product'] },
  async apply(recorded: RecordedEvent, { trx, table }) {
    const t = table(PRODUCT_TABLE);
    const event = productCodec.decode(recorded);
    const position = recorded.position;
    switch (event.type) {
      case 'ProductAdded':
        await trx.raw(
          `insert into ${t} (sku, name, description, category, price_amount, price_currency, status, added_at, position)
           values (?, ?, ?, ?, ?, ?, 'active', ?, ?) on conflict (sku) do nothing`,
          [event.sku, event.name, event.description, event.category, event.price.amount, event.price.currency, event.addedAt, position],
        );
        return;
      case 'ProductDetailsChanged':
        await trx(t)
          .where({ sku: event.sku })
          .andWhere('position', '<', position)
          .update({
            ...(event.name !== undefined ? { name: event.name } : {}),
            ...(event.description !== undefined ? { description: event.description } : {}),
            ...(event.category !== undefined ? { category: event.category } : {}),
            position,
          });
        return;
      case 'ProductPriceChanged':
        await trx(t)
          .where({ sku: event.sku })
          .andWhere('position', '<', position)
          .update({ price_amount: event.price.amount, price_currency: event.price.currency, position });
        return;
      case 'ProductDiscontinued':
        await trx(t)
          .where({ sku: event.sku })
          .andWhere('position', '<', position)
          .update({ status: 'discontinued', discontinued_at: event.discontinuedAt, position });
        return;
    }
  },
};
