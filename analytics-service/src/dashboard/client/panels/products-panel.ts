import type { Items, ProductSales } from '../api';
import { COLORS, PanelChart, alpha } from '../charts';
import { count, money } from '../format';
import { panelElement, part, showState, type Panel } from './panel';

interface ProductRow {
  sku: string;
  label: string;
  units: number;
  revenue: string[];
}

/** The API has one row per SKU and currency; units add up across currencies, revenue does not. */
export function byProduct(items: readonly ProductSales[], limit: number): ProductRow[] {
  const rows = new Map<string, ProductRow>();
  for (const item of items) {
    const row = rows.get(item.sku) ?? { sku: item.sku, label: item.name ? `${item.name} (${item.sku})` : item.sku, units: 0, revenue: [] };
    row.units += item.units;
    row.revenue.push(money(item.revenue, item.currency));
    rows.set(item.sku, row);
  }
  return [...rows.values()].sort((a, b) => b.units - a.units || a.sku.localeCompare(b.sku)).slice(0, limit);
}

export function productsPanel(): Panel {
  const el = panelElement('products');
  let rows: ProductRow[] = [];
  const chart = new PanelChart<'bar'>(part<HTMLCanvasElement>(el, 'canvas'), () => ({
    type: 'bar',
    data: {
      labels: [],
      datasets: [{ label: 'Units', data: [], backgroundColor: alpha(COLORS.violet, 0.8), borderColor: COLORS.violet, borderWidth: 1, borderRadius: 3 }],
    },
    options: {
      indexAxis: 'y',
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const row = rows[item.dataIndex];
              return row ? `${count(row.units)} units · ${row.revenue.join(' + ')}` : '';
            },
          },
        },
      },
    },
  }));

  return {
    id: 'products',
    sources: ['product_sales'],
    timed: false,
    async load({ api }) {
      const { items } = await api.get<Items<ProductSales>>('/v1/products/top', { limit: 10, by: 'units' });
      rows = byProduct(items, 10);
      chart.update((c) => {
        c.data.labels = rows.map((r) => r.label);
        c.data.datasets[0]!.data = rows.map((r) => r.units);
      });
      showState(el, rows.length > 0 ? 'ok' : 'empty', rows.length, rows.length > 0 ? '' : 'No confirmed sales yet');
    },
  };
}
