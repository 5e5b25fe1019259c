/**
 * The admin API as the page sees it: typed responses, and the failures a
 * panel shows differently. The shapes repeat the server's on purpose: the
 * page is built for the browser and imports nothing of the server.
 */

export interface FunnelPoint {
  at: string;
  placed: number;
  confirmed: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  cancelled: number;
}

export interface RevenuePoint {
  at: string;
  currency: string;
  confirmedAmount: number;
  confirmedOrders: number;
  cancelledAmount: number;
  cancelledOrders: number;
  netAmount: number;
}

export interface ProductSales {
  sku: string;
  name: string | null;
  category: string | null;
  currency: string;
  units: number;
  revenue: number;
  orders: number;
}

export interface StockLevel {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  sold: number;
  received: number;
  lastCause: string;
  changedAt: string;
  stockOuts: number;
  lastStockOutAt: string | null;
}

export interface StockOut {
  sku: string;
  at: string;
  cause: string;
  orderId: string | null;
}

export interface LiveOrder {
  orderId: string;
  customerId: string | null;
  status: string;
  lineCount: number | null;
  units: number | null;
  total: { amount: number; currency: string } | null;
  reason: string | null;
  placedAt: string | null;
  updatedAt: string;
  /** How the order was placed (web, mobile, api); null while only later facts about it are archived. */
  channel: string | null;
}

export interface ProjectionStatus {
  name: string;
  state: 'live' | 'rebuilding';
  position: number;
  head: number;
  lag: number;
  rebuildPosition?: number;
}

export interface SagaLatencyPoint {
  at: string;
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  compensated: number;
  compensationRate: number;
}

export interface Alert {
  id: string;
  ruleId: string;
  ruleName: string;
  severity: string;
  state: 'raised' | 'resolved';
  value: number;
  threshold: number;
  message: string;
  raisedAt: string;
  resolvedAt: string | null;
}

export interface Series<P> {
  from: string;
  to: string;
  bucket: string;
  points: P[];
}

export interface Items<T> {
  items: T[];
}

/** 401 or 403: the whole page needs another token, not one panel. */
export class AccessError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

/** 404: this service does not offer the endpoint (yet); the panel says so instead of failing. */
export class UnavailableError extends Error {}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | undefined>;

export class AdminApi {
  /**
   * `root`: the path the service's API is under as the browser sees it —
   * empty when the page is served by the service itself, `/analytics` behind
   * a gateway that strips that prefix (see `apiRootOf`).
   */
  constructor(
    private readonly token: string,
    readonly root = '',
  ) {}

  async get<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const search = params.toString();
    const url = search ? `${this.root}${path}?${search}` : `${this.root}${path}`;
    // (A RequestInit the DOM and Node typings agree on: `cache` is typed in the DOM's only.)
    const init: RequestInit & { cache?: string } = { headers: this.headers(), cache: 'no-store', ...(signal ? { signal } : {}) };
    const res = await fetch(url, init as RequestInit);
    if (res.ok) return (await res.json()) as T;
    const detail = await problemDetail(res);
    if (res.status === 401 || res.status === 403) throw new AccessError(res.status, detail);
    if (res.status === 404) throw new UnavailableError(detail);
    throw new ApiError(res.status, detail);
  }

  headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }
}

export async function problemDetail(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { detail?: unknown; title?: unknown };
    if (typeof body.detail === 'string') return body.detail;
    if (typeof body.title === 'string') return body.title;
  } catch {
    // Not a problem body: the status says enough.
  }
  return `HTTP ${res.status}`;
}

/**
 * The API's root path from the page script's own URL: the script is served
 * at `<root>/dashboard/app.js`, so whatever prefix a gateway put in front of
 * the service (and stripped before it) is in that URL, and the API is under
 * the same prefix.
 */
export function apiRootOf(scriptUrl: string): string {
  return new URL('..', scriptUrl).pathname.replace(/\/+$/, '');
}
