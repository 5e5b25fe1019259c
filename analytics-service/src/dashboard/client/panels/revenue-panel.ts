import type { RevenuePoint, Series } from '../api';
import { PALETTE, PanelChart, alpha } from '../charts';
import { minorUnits, money } from '../format';
import { lastMinutes, minuteLabels, perMinute } from '../time-window';
import type { Kpis } from './kpis';
import { panelElement, part, showState, type Panel } from './panel';

export function revenuePanel(kpis: Kpis): Panel {
  const el = panelElement('revenue');
  const chart = new PanelChart<'bar'>(part<HTMLCanvasElement>(el, 'canvas'), () => ({
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { ticks: { maxTicksLimit: 8 }, grid: { display: false } },
        y: { beginAtZero: true, title: { display: true, text: 'net revenue / min' } },
      },
      plugins: {
        legend: { position: 'top', align: 'end' },
        tooltip: {
          callbacks: {
            label: (item) => `${item.dataset.label}: ${money(Math.round((item.parsed.y ?? 0) * minorUnits(item.dataset.label ?? 'EUR')), item.dataset.label ?? 'EUR')}`,
          },
        },
      },
    },
  }));

  return {
    id: 'revenue',
    sources: ['revenue'],
    timed: true,
    async load({ api, now }) {
      const window = lastMinutes(now, 60);
      const series = await api.get<Series<RevenuePoint>>('/v1/revenue', {
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        bucket: 'minute',
      });
      const currencies = [...new Set(series.points.map((p) => p.currency))].sort();
      chart.update((c) => {
        c.data.labels = minuteLabels(window);
        c.data.datasets = currencies.map((currency, i) => {
          const color = PALETTE[i % PALETTE.length]!;
          const points = series.points.filter((p) => p.currency === currency);
          return {
            label: currency,
            data: perMinute(window, points, (p) => p.netAmount / minorUnits(currency), 0),
            backgroundColor: alpha(color, 0.75),
            borderColor: color,
            borderWidth: 1,
            borderRadius: 2,
          };
        });
      });
      const totals = new Map<string, number>();
      for (const p of series.points) totals.set(p.currency, (totals.get(p.currency) ?? 0) + p.netAmount);
      kpis.set({ revenue: totals });
      const n = series.points.length;
      showState(el, n > 0 ? 'ok' : 'empty', n, n > 0 ? '' : 'No confirmed orders in the last hour');
    },
  };
}
