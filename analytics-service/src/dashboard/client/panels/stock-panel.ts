import type { Items, StockLevel, StockOut } from '../api';
import { COLORS, PanelChart, alpha } from '../charts';
import { clock, count } from '../format';
import { cell, emptyRow, panelElement, part, showState, type Panel } from './panel';

const SHOWN = 10;

export function stockPanel(): Panel {
  const el = panelElement('stock');
  const summary = part(el, '[data-summary]');
  const outs = part(el, '[data-list="stock-outs"]');
  const chart = new PanelChart<'bar'>(part<HTMLCanvasElement>(el, 'canvas'), () => ({
    type: 'bar',
    data: {
      labels: [],
      datasets: [
        { label: 'Available', data: [], backgroundColor: alpha(COLORS.green, 0.8), borderRadius: 2 },
        { label: 'Reserved', data: [], backgroundColor: alpha(COLORS.amber, 0.8), borderRadius: 2 },
      ],
    },
    options: {
      indexAxis: 'y',
      scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true, grid: { display: false } } },
      plugins: { legend: { position: 'top', align: 'end' } },
    },
  }));

  return {
    id: 'stock',
    sources: ['stock_levels'],
    timed: false,
    async load({ api }) {
      const [levels, stockOuts] = await Promise.all([
        api.get<Items<StockLevel>>('/v1/stock'),
        api.get<Items<StockOut>>('/v1/stock/outs', { limit: 8 }),
      ]);
      const lowest = [...levels.items].sort((a, b) => a.available - b.available || a.sku.localeCompare(b.sku)).slice(0, SHOWN);
      chart.update((c) => {
        c.data.labels = lowest.map((s) => s.sku);
        c.data.datasets[0]!.data = lowest.map((s) => s.available);
        c.data.datasets[1]!.data = lowest.map((s) => s.reserved);
      });
      const out = levels.items.filter((s) => s.available === 0).length;
      summary.textContent = `${count(levels.items.length)} SKUs · ${count(out)} out of stock`;
      summary.classList.toggle('bad', out > 0);
      outs.replaceChildren(
        ...stockOuts.items.map((o) => {
          const tr = document.createElement('tr');
          tr.append(cell('td', o.sku, 'mono'), cell('td', o.cause), cell('td', clock(o.at), 'num muted'));
          return tr;
        }),
      );
      if (stockOuts.items.length === 0) outs.replaceChildren(emptyRow('No stock-outs', 3));
      showState(el, lowest.length > 0 ? 'ok' : 'empty', lowest.length, lowest.length > 0 ? '' : 'No stock figures yet');
    },
  };
}
