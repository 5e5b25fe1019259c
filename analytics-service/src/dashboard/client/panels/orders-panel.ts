import type { Items, LiveOrder } from '../api';
import { clock, count, money } from '../format';
import { cell, emptyRow, panelElement, part, showState, type Panel } from './panel';

const SHOWN = 15;

export function ordersPanel(): Panel {
  const el = panelElement('orders');
  const body = part(el, '[data-list="orders"]');
  let seen: Set<string> | undefined;

  const row = (o: LiveOrder, fresh: boolean): HTMLElement => {
    const tr = document.createElement('tr');
    tr.dataset.orderId = o.orderId;
    if (fresh) tr.className = 'fresh';
    tr.append(
      cell('td', o.orderId, 'mono'),
      cell('td', o.customerId ?? '—'),
      cell('td', o.status, `status status-${o.status}`),
      cell('td', o.units === null ? '—' : count(o.units), 'num'),
      cell('td', o.total ? money(o.total.amount, o.total.currency) : '—', 'num'),
      cell('td', o.reason ?? '', 'muted'),
      cell('td', clock(o.placedAt), 'muted'),
      cell('td', clock(o.updatedAt), 'muted'),
    );
    return tr;
  };

  return {
    id: 'orders',
    sources: ['live_orders'],
    timed: false,
    async load({ api }) {
      const { items } = await api.get<Items<LiveOrder>>('/v1/orders/live', { limit: SHOWN });
      // Rows that arrived since the last refresh flash once; nothing flashes on the first load.
      const previous = seen;
      body.replaceChildren(...(items.length > 0 ? items.map((o) => row(o, previous !== undefined && !previous.has(o.orderId))) : [emptyRow('No orders yet', 8)]));
      seen = new Set(items.map((o) => o.orderId));
      showState(el, items.length > 0 ? 'ok' : 'empty', items.length);
    },
  };
}
