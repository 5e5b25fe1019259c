import type { Items, ProjectionStatus } from '../api';
import { count } from '../format';
import type { Kpis } from './kpis';
import { cell, panelElement, part, showState, type Panel } from './panel';

export interface ProjectionsPanel extends Panel {
  /** The event stream carries every projection's status: drawn without a request. */
  render(statuses: readonly ProjectionStatus[]): void;
}

export function projectionsPanel(kpis: Kpis): ProjectionsPanel {
  const el = panelElement('projections');
  const body = part(el, '[data-list="projections"]');

  const render = (statuses: readonly ProjectionStatus[]) => {
    body.replaceChildren(
      ...statuses.map((s) => {
        const tr = document.createElement('tr');
        tr.dataset.projection = s.name;
        const lagClass = s.lag === 0 ? 'lag-ok' : s.lag < 100 ? 'lag-warn' : 'lag-bad';
        const state = s.state === 'rebuilding' && s.rebuildPosition !== undefined ? `rebuilding @${count(s.rebuildPosition)}` : s.state;
        tr.append(
          cell('td', s.name, 'mono'),
          cell('td', state, `state-pill ${s.state}`),
          cell('td', count(s.position), 'num'),
          cell('td', count(s.head), 'num muted'),
          cell('td', count(s.lag), `num ${lagClass}`),
        );
        return tr;
      }),
    );
    kpis.set({ maxLag: Math.max(0, ...statuses.map((s) => s.lag)) });
    showState(el, statuses.length > 0 ? 'ok' : 'empty', statuses.length);
  };

  return {
    id: 'projections',
    sources: [],
    timed: false,
    render,
    async load({ api }) {
      render((await api.get<Items<ProjectionStatus>>('/v1/projections')).items);
    },
  };
}
