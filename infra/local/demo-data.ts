/**
 * The demo catalog: 60 products over 6 categories, each with stock, loaded
 * through the services' own admin APIs (so it goes through validation, the
 * event stores and the outbox like any other write).
 */
const CATEGORIES = ['books', 'coffee', 'garden', 'kitchen', 'music', 'outdoor'] as const;
const ADJECTIVES = ['Classic', 'Compact', 'Deluxe', 'Everyday', 'Handmade', 'Large', 'Organic', 'Pro', 'Travel', 'Vintage'];

export interface DemoProduct {
  sku: string;
  name: string;
  description: string;
  category: string;
  price: { amount: number; currency: 'EUR' };
  stock: number;
}

export function demoProducts(): DemoProduct[] {
  const products: DemoProduct[] = [];
  CATEGORIES.forEach((category, c) => {
    ADJECTIVES.forEach((adjective, a) => {
      const n = c * ADJECTIVES.length + a + 1;
      products.push({
        sku: `${category.slice(0, 3).toUpperCase()}-${String(n).padStart(4, '0')}`,
        name: `${adjective} ${category.replace(/s$/, '')} item ${n}`,
        description: `A ${adjective.toLowerCase()} ${category} product for the demo catalog.`,
        category,
        price: { amount: 499 + ((n * 737) % 9_500), currency: 'EUR' },
        stock: 20 + ((n * 53) % 180),
      });
    });
  });
  return products;
}

async function post(url: string, token: string, body: unknown, idempotencyKey: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
  });
}

/** Whether the SKU's stock has had a receipt (a run before this one loaded it). */
async function receivedBefore(inventoryUrl: string, token: string, sku: string): Promise<boolean> {
  const res = await fetch(`${inventoryUrl}/v1/stock/${sku}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status === 404) return false;
  if (!res.ok) throw new Error(`reading the stock of ${sku}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { received: number }).received > 0;
}

/**
 * Loads the demo data; a product that already exists (409) counts as loaded,
 * and its stock is received only if it never was (a run that stopped
 * half-way is completed, one that finished changes nothing).
 */
export async function loadDemoData(urls: { catalog: string; inventory: string }, adminToken: string): Promise<number> {
  let loaded = 0;
  for (const p of demoProducts()) {
    const added = await post(
      `${urls.catalog}/v1/products`,
      adminToken,
      { sku: p.sku, name: p.name, description: p.description, category: p.category, price: p.price },
      `demo-product-${p.sku}`,
    );
    if (!added.ok && added.status !== 409) throw new Error(`adding ${p.sku}: ${added.status} ${await added.text()}`);
    if (added.status === 409 && (await receivedBefore(urls.inventory, adminToken, p.sku))) {
      loaded++;
      continue;
    }
    const received = await post(`${urls.inventory}/v1/stock/${p.sku}/receipts`, adminToken, { quantity: p.stock }, `demo-stock-${p.sku}`);
    if (!received.ok) throw new Error(`receiving ${p.sku}: ${received.status} ${await received.text()}`);
    loaded++;
  }
  return loaded;
}

/** The alert rules of the examples, so the dashboard's alert list has something to watch. */
export const DEMO_ALERT_RULES = [
  { name: 'Rejection rate above 20% over 5 min', metric: 'rejection_rate', comparator: 'above', threshold: 0.2, windowMinutes: 5, minSamples: 10, severity: 'critical' },
  { name: 'Stock below 5 units', metric: 'stock_available', comparator: 'below', threshold: 5, severity: 'warning' },
  { name: 'Saga p95 above 2 s over 5 min', metric: 'saga_p95_ms', comparator: 'above', threshold: 2_000, windowMinutes: 5, minSamples: 10, severity: 'warning' },
] as const;

/** Adds the demo alert rules that are not there yet (by name), so a job that runs again adds none twice; returns how many it added. */
export async function loadDemoAlertRules(analyticsUrl: string, adminToken: string): Promise<number> {
  const listed = await fetch(`${analyticsUrl}/v1/alerts/rules`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (!listed.ok) throw new Error(`listing alert rules: ${listed.status} ${await listed.text()}`);
  const existing = new Set(((await listed.json()) as { items: { name: string }[] }).items.map((r) => r.name));
  let added = 0;
  for (const rule of DEMO_ALERT_RULES) {
    if (existing.has(rule.name)) continue;
    const res = await fetch(`${analyticsUrl}/v1/alerts/rules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify(rule),
    });
    if (!res.ok) throw new Error(`adding alert rule "${rule.name}": ${res.status} ${await res.text()}`);
    added++;
  }
  return added;
}
