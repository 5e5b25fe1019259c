import type { Knex } from 'knex';
import type { ListedProduct } from '../../product';
import { PRODUCT_TABLE } from './projection';

/** Where the previous page ended, in the list's order (name, then SKU). */
export interface ProductCursor {
  name: string;
  sku: string;
}

export interface ProductListQuery {
  limit: number;
  after?: ProductCursor;
  category?: string;
  /** Case-insensitive substring of the name. */
  q?: string;
}

export interface ProductPage {
  items: ListedProduct[];
  next: ProductCursor | null;
}

interface Row {
  sku: string;
  name: string;
  description: string;
  category: string;
  price_amount: string;
  price_currency: string;
  status: 'active' | 'discontinued';
  added_at: Date;
  discontinued_at: Date | null;
}

/**
 * The products for sale (discontinued ones are left out), by name then SKU,
 * a page at a time. Keyset pagination: a page starts after the last row of
 * the previous one, so rows added or removed meanwhile never shift a page.
 */
export class ProductList {
  constructor(private readonly db: Knex) {}

  async list(query: ProductListQuery): Promise<ProductPage> {
    const q = this.db<Row>(PRODUCT_TABLE).where({ status: 'active' });
    if (query.category !== undefined) q.andWhere({ category: query.category });
    // strpos rather than LIKE: no wildcard in the search text to escape.
    if (query.q !== undefined) q.andWhereRaw('strpos(lower(name), lower(?)) > 0', [query.q]);
    if (query.after) q.andWhereRaw('(name, sku) > (?, ?)', [query.after.name, query.after.sku]);
    const rows = (await q.orderBy([{ column: 'name' }, { column: 'sku' }]).limit(query.limit + 1)) as Row[];
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toProduct),
      next: rows.length > query.limit && last ? { name: last.name, sku: last.sku } : null,
    };
  }
}

function toProduct(row: Row): ListedProduct {
  const facts = {
    sku: row.sku,
    name: row.name,
    description: row.description,
    category: row.category,
    price: { amount: Number(row.price_amount), currency: row.price_currency },
    addedAt: row.added_at.toISOString(),
  };
  return row.status === 'discontinued' && row.discontinued_at
    ? { status: 'discontinued', ...facts, discontinuedAt: row.discontinued_at.toISOString() }
    : { status: 'active', ...facts };
}

export function encodeCursor(cursor: ProductCursor): string {
  return Buffer.from(JSON.stringify([cursor.name, cursor.sku])).toString('base64url');
}

/** The cursor, or undefined when the text is not one this service handed out. */
export function decodeCursor(text: string): ProductCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      return { name: value[0], sku: value[1] };
    }
  } catch {
    // not JSON: fall through
  }
  return undefined;
}
