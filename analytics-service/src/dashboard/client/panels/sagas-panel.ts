import type { SagaLatencyPoint, Series } from '../api';
import { UnavailableError } from '../api';
import { COLORS, PanelChart, alpha } from '../charts';
import { count, milliseconds, percent } from '../format';
import { lastMinutes, minuteLabels, perMinute } from '../time-window';
import type { Kpis } from './kpis';
import { panelElement, part, showState, type Panel } from './panel';

const LINES = [
  { key: 'p50Ms', label: 'p50', color: COLORS.green },
  { key: 'p95Ms', label: 'p95', color: COLORS.amber },
  { key: 'p99Ms', label: 'p99', color: COLORS.red },
] as const;

export function sagasPanel(kpis: Kpis): Panel {
  const el = panelElement('sagas');
  const summary = part(el, '[data-summary]');
  const chart = new PanelChart<'line'>(part<HTMLCanvasElement>(el, 'canvas'), () => ({
    type: 'line',
    data: {
      labels: [],
      datasets: [
        ...LINES.map((l) => ({ label: l.label, data: [], borderColor: l.color, backgroundColor: l.color, borderWidth: 2, pointRadius: 2, tension: 0.25, spanGaps: true, yAxisID: 'y' })),
        {
          label: 'compensation rate',
          data: [],
          borderColor: COLORS.violet,
          backgroundColor: alpha(COLORS.violet, 0.15),
          borderDash: [4, 4],
          borderWidth: 1.5,
          pointRadius: 0,
          fill: true,
          spanGaps: true,
          yAxisID: 'rate',
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { ticks: { maxTicksLimit: 12 }, grid: { display: false } },
        y: { beginAtZero: true, title: { display: true, text: 'duration (ms)' } },
        rate: { position: 'right', min: 0, max: 100, grid: { display: false }, ticks: { callback: (v) => `${v}%` } },
      },
      plugins: { legend: { position: 'top', align: 'end' } },
    },
  }));

  return {
    id: 'sagas',
    sources: ['*'],
    timed: true,
    async load({ api, now }) {
      const window = lastMinutes(now, 60);
      let series: Series<SagaLatencyPoint>;
      try {
        series = await api.get<Series<SagaLatencyPoint>>('/v1/sagas/latency', {
          from: window.from.toISOString(),
          to: window.to.toISOString(),
          bucket: 'minute',
        });
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        kpis.set({ sagaP95Ms: null });
        summary.textContent = 'not offered by this service';
        showState(el, 'unavailable', 0, 'No saga data: this service does not offer /v1/sagas/latency');
        return;
      }
      chart.update((c) => {
        c.data.labels = minuteLabels(window);
        LINES.forEach((l, i) => (c.data.datasets[i]!.data = perMinute(window, series.points, (p) => p[l.key], null)));
        c.data.datasets[3]!.data = perMinute(window, series.points, (p) => p.compensationRate * 100, null);
      });
      const sagas = series.points.reduce((s, p) => s + p.count, 0);
      const compensated = series.points.reduce((s, p) => s + p.compensated, 0);
      const latest = series.points.at(-1);
      kpis.set({ sagaP95Ms: latest ? latest.p95Ms : null });
      summary.textContent = sagas > 0 ? `${count(sagas)} sagas · ${percent(compensated / sagas)} compensated · latest p95 ${milliseconds(latest?.p95Ms ?? 0)}` : 'no sagas ended in the last hour';
      const n = series.points.length;
      showState(el, n > 0 ? 'ok' : 'empty', n, n > 0 ? '' : 'No saga ended in the last hour');
    },
  };
}
