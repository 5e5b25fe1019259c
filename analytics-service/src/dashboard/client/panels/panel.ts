import type { AdminApi } from '../api';

export type PanelState = 'loading' | 'ok' | 'empty' | 'unavailable' | 'error';

export interface PanelContext {
  api: AdminApi;
  now: Date;
}

export interface Panel {
  id: string;
  /** Projections whose movement makes the panel stale; `*`: any movement. */
  sources: readonly string[];
  /** Panels over time windows also go stale as the clock moves on. */
  timed: boolean;
  load(ctx: PanelContext): Promise<void>;
}

export function panelElement(id: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-panel="${id}"]`);
  if (!el) throw new Error(`the page has no panel ${id}`);
  return el;
}

export function part<T extends Element = HTMLElement>(panel: HTMLElement, selector: string): T {
  const el = panel.querySelector<T>(selector);
  if (!el) throw new Error(`panel ${panel.dataset.panel} has no ${selector}`);
  return el;
}

/**
 * What the panel shows, in attributes as well as on screen: `data-state` and
 * `data-points` (the records drawn) let a test or a curious operator read the
 * panel without parsing its canvas.
 */
export function showState(panel: HTMLElement, state: PanelState, points: number, note = ''): void {
  panel.dataset.state = state;
  panel.dataset.points = String(points);
  const el = panel.querySelector<HTMLElement>('.note');
  if (el) el.textContent = note;
}

/** A table cell or list item built from text only (never HTML from the API). */
export function cell(tag: string, text: string, className?: string): HTMLElement {
  const el = document.createElement(tag);
  el.textContent = text;
  if (className) el.className = className;
  return el;
}

export function emptyRow(text: string, columns: number): HTMLTableRowElement {
  const tr = document.createElement('tr');
  const td = document.createElement('td');
  td.textContent = text;
  td.className = 'muted';
  td.colSpan = columns;
  tr.append(td);
  return tr;
}
