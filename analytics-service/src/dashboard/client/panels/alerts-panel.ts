import { UnavailableError, type Alert, type Items } from '../api';
import { clock, count } from '../format';
import type { Kpis } from './kpis';
import { cell, emptyRow, panelElement, part, showState, type Panel } from './panel';

const HISTORY_SHOWN = 8;

function figure(n: number): string {
  return Number.isInteger(n) ? count(n) : n.toFixed(2);
}

function activeItem(alert: Alert): HTMLElement {
  const li = document.createElement('li');
  li.className = `alert severity-${alert.severity}`;
  li.dataset.alertId = alert.id;
  const head = document.createElement('div');
  head.className = 'alert-head';
  head.append(cell('span', alert.severity, 'badge'), cell('strong', alert.ruleName), cell('span', `since ${clock(alert.raisedAt)}`, 'muted'));
  li.append(head, cell('p', `${alert.message} (${figure(alert.value)} vs threshold ${figure(alert.threshold)})`));
  return li;
}

function historyRow(alert: Alert): HTMLElement {
  const tr = document.createElement('tr');
  tr.append(
    cell('td', alert.state === 'raised' ? 'raised' : 'resolved', `state ${alert.state}`),
    cell('td', alert.ruleName),
    cell('td', alert.severity, `severity-text severity-${alert.severity}`),
    cell('td', clock(alert.resolvedAt ?? alert.raisedAt), 'num muted'),
  );
  return tr;
}

export function alertsPanel(kpis: Kpis): Panel {
  const el = panelElement('alerts');
  const summary = part(el, '[data-summary]');
  const active = part(el, '[data-list="active"]');
  const history = part(el, '[data-list="history"]');

  return {
    id: 'alerts',
    // Rules are evaluated over several read models (and over time), so any movement may change them.
    sources: ['*'],
    timed: true,
    async load({ api }) {
      let current: Items<Alert>;
      let past: Items<Alert>;
      try {
        [current, past] = await Promise.all([api.get<Items<Alert>>('/v1/alerts', { state: 'active' }), api.get<Items<Alert>>('/v1/alerts/history')]);
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        kpis.set({ activeAlerts: null });
        summary.textContent = '';
        active.replaceChildren();
        history.replaceChildren();
        showState(el, 'unavailable', 0, 'No alerts: this service does not offer /v1/alerts');
        return;
      }
      kpis.set({ activeAlerts: current.items.length });
      summary.textContent = current.items.length > 0 ? `${count(current.items.length)} active` : 'all clear';
      summary.classList.toggle('bad', current.items.length > 0);
      active.replaceChildren(...(current.items.length > 0 ? current.items.map(activeItem) : [cell('li', 'No active alerts', 'alert clear')]));
      const recent = past.items.slice(0, HISTORY_SHOWN);
      history.replaceChildren(...(recent.length > 0 ? recent.map(historyRow) : [emptyRow('No alert raised yet', 4)]));
      el.dataset.active = String(current.items.length);
      el.dataset.history = String(past.items.length);
      const n = current.items.length + recent.length;
      showState(el, n > 0 ? 'ok' : 'empty', n);
    },
  };
}
