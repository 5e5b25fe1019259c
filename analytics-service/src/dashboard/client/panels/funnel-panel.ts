import type { FunnelPoint, Series } from '../api';
import { COLORS, PanelChart, alpha } from '../charts';
import { lastMinutes, minuteLabels, perMinute } from '../time-window';
import type { Kpis } from './kpis';
import { panelElement, part, showState, type Panel } from './panel';

const STAGES = [
  { key: 'placed', label: 'Placed', color: COLORS.blue },
  { key: 'confirmed', label: 'Confirmed', color: COLORS.green },
  { key: 'rejected', label: 'Rejected', color: COLORS.red },
  { key: 'cancelled', label: 'Cancelled', color: COLORS.amber },
] as const;

export function funnelPanel(kpis: Kpis): Panel {
  const el = panelElement('funnel');
  const chart = new PanelChart<'line'>(part<HTMLCanvasElement>(el, 'canvas'), () => ({
    type: 'line',
    data: {
      labels: [],
      datasets: STAGES.map((s) => ({
        label: s.label,
        data: [],
        borderColor: s.color,
        backgroundColor: alpha(s.color, s.key === 'placed' ? 0.12 : 0),
        fill: s.key === 'placed',
        borderWidth: 2,
        pointRadius: 0,
        pointHoverRadius: 3,
        tension: 0.3,
      })),
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { ticks: { maxTicksLimit: 12 }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'orders / min' } },
      },
      plugins: { legend: { position: 'top', align: 'end' } },
    },
  }));

  return {
    id: 'funnel',
    sources: ['order_funnel'],
    timed: true,
    async load({ api, now }) {
      const window = lastMinutes(now, 60);
      const series = await api.get<Series<FunnelPoint>>('/v1/funnel', {
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        bucket: 'minute',
      });
      chart.update((c) => {
        c.data.labels = minuteLabels(window);
        STAGES.forEach((s, i) => (c.data.datasets[i]!.data = perMinute(window, series.points, (p) => p[s.key], 0)));
      });
      const total = (key: (typeof STAGES)[number]['key']) => series.points.reduce((sum, p) => sum + p[key], 0);
      kpis.set({ placed: total('placed'), confirmed: total('confirmed'), rejected: total('rejected'), cancelled: total('cancelled') });
      const n = series.points.length;
      showState(el, n > 0 ? 'ok' : 'empty', n, n > 0 ? '' : 'No orders in the last hour');
    },
  };
}
