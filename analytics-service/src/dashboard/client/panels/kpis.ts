import { count, milliseconds, money, percent } from '../format';

interface KpiFigures {
  placed?: number;
  confirmed?: number;
  rejected?: number;
  cancelled?: number;
  revenue?: Map<string, number>;
  sagaP95Ms?: number | null;
  activeAlerts?: number | null;
  maxLag?: number;
}

/** The headline figures, filled in by the panels that fetch them. */
export class Kpis {
  private figures: KpiFigures = {};

  set(update: KpiFigures): void {
    this.figures = { ...this.figures, ...update };
    this.render();
  }

  private render(): void {
    const f = this.figures;
    const show = (name: string, text: string | undefined) => {
      const el = document.querySelector<HTMLElement>(`[data-kpi="${name}"]`);
      if (el && text !== undefined) el.textContent = text;
    };
    show('placed', f.placed === undefined ? undefined : count(f.placed));
    show('confirmed', f.confirmed === undefined ? undefined : count(f.confirmed));
    show('rejected', f.rejected === undefined ? undefined : count(f.rejected));
    show('cancelled', f.cancelled === undefined ? undefined : count(f.cancelled));
    if (f.placed !== undefined && f.confirmed !== undefined) show('conversion', f.placed === 0 ? '—' : percent(f.confirmed / f.placed));
    if (f.revenue) {
      show('revenue', f.revenue.size === 0 ? '—' : [...f.revenue].map(([currency, amount]) => money(amount, currency)).join(' · '));
    }
    if (f.sagaP95Ms !== undefined) show('saga-p95', f.sagaP95Ms === null ? 'n/a' : milliseconds(f.sagaP95Ms));
    if (f.activeAlerts !== undefined) show('alerts', f.activeAlerts === null ? 'n/a' : count(f.activeAlerts));
    if (f.maxLag !== undefined) show('lag', count(f.maxLag));
    const panel = document.querySelector<HTMLElement>('[data-panel="kpis"]');
    if (panel) {
      panel.dataset.state = 'ok';
      panel.dataset.points = String(Object.keys(f).length);
      const alerts = document.querySelector<HTMLElement>('[data-kpi="alerts"]');
      alerts?.classList.toggle('bad', (f.activeAlerts ?? 0) > 0);
      const lag = document.querySelector<HTMLElement>('[data-kpi="lag"]');
      lag?.classList.toggle('warn', (f.maxLag ?? 0) > 0);
    }
  }
}
