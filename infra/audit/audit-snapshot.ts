/**
 * What the auditor reads, each service through its own API (never another
 * service's database): every order and saga page by page (admin), the SKUs
 * of the catalog and of the orders, each SKU's levels from its stream and
 * from the inventory's and analytics' read models, analytics' funnel and
 * revenue over the whole history, and every lag gauge of every `/metrics`.
 */
import type { SagaSnapshot, StockLevels } from '../k6/lib/invariants';
import { lagsOf, type AuditSnapshot, type AuditedOrder } from './audit-checks';

export interface AuditTargets {
  catalog: string;
  inventory: string;
  order: string;
  coordinator: string;
  analytics: string;
}

const SERVICES = ['catalog', 'inventory', 'order', 'coordinator', 'analytics'] as const;

export async function collectSnapshot(targets: AuditTargets, adminToken: string, options: { metrics?: Partial<AuditTargets> } = {}): Promise<AuditSnapshot> {
  const get = async <T>(url: string): Promise<T> => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    return (await res.json()) as T;
  };
  const all = async <T>(base: string, query = ''): Promise<T[]> => {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: T[]; nextCursor: string | null } = await get(`${base}?limit=100${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  };

  const [orders, sagas, stuckSagas, products] = await Promise.all([
    all<AuditedOrder>(`${targets.order}/v1/orders`),
    all<SagaSnapshot>(`${targets.coordinator}/v1/sagas`),
    all<SagaSnapshot>(`${targets.coordinator}/v1/sagas/stuck`),
    all<{ sku: string }>(`${targets.catalog}/v1/products`),
  ]);
  const skus = [...new Set([...products.map((p) => p.sku), ...orders.flatMap((o) => o.lines.map((l) => l.sku))])].sort();

  const stock: StockLevels[] = [];
  for (let i = 0; i < skus.length; i += 16) {
    stock.push(...(await Promise.all(skus.slice(i, i + 16).map((sku) => get<StockLevels>(`${targets.inventory}/v1/stock/${encodeURIComponent(sku)}`)))));
  }
  const inventoryReadModel: AuditSnapshot['inventoryReadModel'] = [];
  const analyticsStock: StockLevels[] = [];
  for (let i = 0; i < skus.length; i += 100) {
    const chunk = skus.slice(i, i + 100).join(',');
    inventoryReadModel.push(...(await get<{ items: AuditSnapshot['inventoryReadModel'] }>(`${targets.inventory}/v1/stock?skus=${encodeURIComponent(chunk)}`)).items);
    analyticsStock.push(...(await get<{ items: StockLevels[] }>(`${targets.analytics}/v1/stock?sku=${encodeURIComponent(chunk)}`)).items);
  }

  // The whole history, in day buckets: from the first order's day to tomorrow.
  const first = orders.reduce((min, o) => (o.placedAt < min ? o.placedAt : min), new Date().toISOString());
  const from = new Date(first);
  from.setUTCHours(0, 0, 0, 0);
  const to = new Date(Date.now() + 86_400_000);
  to.setUTCHours(0, 0, 0, 0);
  const range = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}&bucket=day`;
  const [funnel, revenue] = await Promise.all([
    get<{ points: AuditSnapshot['analyticsFunnel'] }>(`${targets.analytics}/v1/funnel?${range}`),
    get<{ points: AuditSnapshot['analyticsRevenue'] }>(`${targets.analytics}/v1/revenue?${range}`),
  ]);

  const lags: AuditSnapshot['lags'] = [];
  for (const service of SERVICES) {
    const base = options.metrics?.[service] ?? targets[service];
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`GET ${base}/metrics: ${res.status}`);
    lags.push(...lagsOf(service, await res.text()));
  }

  return { orders, sagas, stuckSagas, stock, inventoryReadModel, analyticsStock, analyticsFunnel: funnel.points, analyticsRevenue: revenue.points, lags };
}
