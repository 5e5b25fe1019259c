// The page's entry point, bundled by esbuild (see ../dashboard-assets.ts).
// Type-checked with the browser's types by ./tsconfig.json (`npm run
// typecheck`), apart from the server code, which must not see them.
import { AccessError, AdminApi, apiRootOf, type ProjectionStatus } from './api';
import { followEventStream, type ServerSentEvent, type StreamState } from './event-stream';
import { clock } from './format';
import { alertsPanel } from './panels/alerts-panel';
import { funnelPanel } from './panels/funnel-panel';
import { Kpis } from './panels/kpis';
import { ordersPanel } from './panels/orders-panel';
import { panelElement, showState, type Panel } from './panels/panel';
import { productsPanel } from './panels/products-panel';
import { projectionsPanel } from './panels/projections-panel';
import { revenuePanel } from './panels/revenue-panel';
import { sagasPanel } from './panels/sagas-panel';
import { stockPanel } from './panels/stock-panel';
import { forgetToken, saveToken, savedToken, takeTokenFromUrl } from './token';

/** The API is under the same prefix as the page's script (`/analytics` behind the gateway, none without one). */
const API_ROOT = apiRootOf(import.meta.url);
const STREAM_URL = `${API_ROOT}/v1/stream`;
/** Time-window panels roll forward even when nothing happens. */
const CLOCK_REFRESH_MS = 30_000;

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

/** Runs a panel's load at most once at a time; requests during a run coalesce into one more run. */
class Refresh {
  private running = false;
  private again = false;

  constructor(private readonly run: () => Promise<void>) {}

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.request();
      }
    });
  }
}

interface ChangeNotice {
  moved?: string[];
  projections: ProjectionStatus[];
}

const kpis = new Kpis();
const projections = projectionsPanel(kpis);
const panels: Panel[] = [funnelPanel(kpis), revenuePanel(kpis), sagasPanel(kpis), alertsPanel(kpis), productsPanel(), stockPanel(), ordersPanel(), projections];
let session: AbortController | undefined;

function isStale(panel: Panel, moved: ReadonlySet<string> | undefined): boolean {
  if (!moved) return true;
  if (panel.sources.includes('*')) return moved.size > 0;
  return panel.sources.some((s) => moved.has(s));
}

function showStreamState(state: StreamState | 'stopped'): void {
  const el = byId('stream-state');
  el.dataset.stream = state;
  el.textContent = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', stopped: 'offline' }[state];
}

function askForToken(message: string): void {
  session?.abort();
  session = undefined;
  showStreamState('stopped');
  byId('panels').hidden = true;
  byId('sign-out').hidden = true;
  byId('auth').hidden = false;
  byId('auth-message').textContent = message;
  byId<HTMLTextAreaElement>('token-input').focus();
}

function refused(err: AccessError): void {
  forgetToken();
  askForToken(
    err.status === 401
      ? `The token was refused (401: ${err.message}). It may have expired; paste a new one.`
      : `This token is valid but lacks the admin role (403: ${err.message}). The dashboard needs a token with role admin.`,
  );
}

function start(token: string): void {
  session?.abort();
  const current = new AbortController();
  session = current;
  const { signal } = current;
  byId('auth').hidden = true;
  byId('panels').hidden = false;
  byId('sign-out').hidden = false;

  const api = new AdminApi(token, API_ROOT);
  const load = async (panel: Panel) => {
    if (signal.aborted) return;
    try {
      await panel.load({ api, now: new Date() });
      byId('updated').textContent = `updated ${clock(new Date().toISOString())}`;
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof AccessError) refused(err);
      else showState(panelElement(panel.id), 'error', 0, `Could not load: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const refreshes = new Map(panels.map((p) => [p, new Refresh(() => load(p))]));
  const refresh = (moved?: ReadonlySet<string>) => {
    for (const [panel, r] of refreshes) if (panel !== projections && isStale(panel, moved)) r.request();
  };

  const onEvent = (event: ServerSentEvent) => {
    if (event.event !== 'ready' && event.event !== 'changed') return;
    const notice = JSON.parse(event.data) as ChangeNotice;
    projections.render(notice.projections);
    // `ready` opens every (re)connection: whatever happened while disconnected is re-read.
    refresh(event.event === 'ready' ? undefined : new Set(notice.moved ?? []));
  };

  for (const r of refreshes.values()) r.request();
  followEventStream({ url: STREAM_URL, headers: api.headers(), onEvent, onState: showStreamState, signal }).catch((err: unknown) => {
    if (!signal.aborted && err instanceof AccessError) refused(err);
  });
  const timer = setInterval(() => {
    for (const [panel, r] of refreshes) if (panel.timed) r.request();
  }, CLOCK_REFRESH_MS);
  signal.addEventListener('abort', () => clearInterval(timer));
}

function boot(): void {
  takeTokenFromUrl();
  byId<HTMLFormElement>('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = byId<HTMLTextAreaElement>('token-input');
    if (!input.value.trim()) return;
    saveToken(input.value);
    input.value = '';
    start(savedToken()!);
  });
  byId('sign-out').addEventListener('click', () => {
    forgetToken();
    askForToken('Token forgotten. Paste one to continue.');
  });
  // A `#token=` link opened in a tab that already shows the page changes only the fragment: no reload.
  window.addEventListener('hashchange', () => {
    if (takeTokenFromUrl()) start(savedToken()!);
  });
  const token = savedToken();
  if (token) start(token);
  else askForToken('');
}

boot();
