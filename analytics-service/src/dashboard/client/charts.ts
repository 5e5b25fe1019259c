import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartType,
} from 'chart.js';

// Only what the panels draw, so the bundle leaves the rest of Chart.js out.
Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

export const COLORS = {
  text: '#c9d4e0',
  muted: '#7d8a99',
  grid: 'rgba(125, 138, 153, 0.18)',
  blue: '#4c9aff',
  green: '#36c28a',
  red: '#f2555a',
  amber: '#f5a524',
  violet: '#a883f7',
  cyan: '#2ec7d6',
  pink: '#ef6fb0',
};

/** One colour per currency or series, in a stable order. */
export const PALETTE = [COLORS.blue, COLORS.green, COLORS.amber, COLORS.violet, COLORS.cyan, COLORS.pink, COLORS.red];

Chart.defaults.color = COLORS.text;
Chart.defaults.borderColor = COLORS.grid;
Chart.defaults.font.family = 'Inter, "Segoe UI", system-ui, -apple-system, sans-serif';
Chart.defaults.font.size = 11;
// Panels redraw every few seconds: animating each refresh would only distract.
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.plugins.legend.labels.boxWidth = 10;
Chart.defaults.plugins.legend.labels.boxHeight = 10;

/** A chart on `canvas`, created on first use and updated in place afterwards. */
export class PanelChart<T extends ChartType> {
  private chart: Chart<T> | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly configure: () => ChartConfiguration<T>,
  ) {}

  update(apply: (chart: Chart<T>) => void): void {
    this.chart ??= new Chart(this.canvas, this.configure());
    apply(this.chart);
    this.chart.update('none');
  }
}

export function alpha(hex: string, a: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}
