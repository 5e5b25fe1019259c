import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

/** Keep-alive connections, so the load generator costs little next to what it measures. */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpRequest(url: string, options: { method: string; headers?: Record<string, string>; body?: string; timeoutMs?: number }): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers, agent, timeout: options.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${options.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export interface PlacedOrder {
  orderId: string;
  /** Wall-clock time the POST was sent (ms since the epoch), comparable with the services' timestamps. */
  sentAt: number;
  postMs: number;
  /** The trace its response named (`traceresponse`), when the order service traces. */
  traceId?: string;
}

export interface LoadResult {
  offered: number;
  placed: PlacedOrder[];
  /** Requests that did not get a 202, with why. */
  failures: string[];
  /** When the last request was sent (ms since the epoch). */
  endedAt: number;
  startedAt: number;
}

export interface OpenLoopOptions {
  orderServiceUrl: string;
  customerToken: string;
  rate: number;
  seconds: number;
  skus: readonly string[];
  /** The payment token of the i-th order. */
  paymentToken: (i: number) => string;
}

/**
 * Places orders open-loop at a constant arrival rate: the i-th order is sent
 * at i / rate seconds after the start whether or not earlier ones have been
 * answered, so a slow system meets the same load as a fast one (a closed
 * loop would slow down with it and hide the backlog). One SKU per order,
 * chosen at random.
 */
export async function placeOrdersOpenLoop(o: OpenLoopOptions): Promise<LoadResult> {
  const placed: PlacedOrder[] = [];
  const failures: string[] = [];
  const loop = await openLoop(o.rate, o.seconds, async (i) => {
    const sentAt = Date.now();
    const t = performance.now();
    const body = JSON.stringify({ lines: [{ sku: o.skus[Math.floor(Math.random() * o.skus.length)]!, quantity: 1 }], paymentToken: o.paymentToken(i) });
    try {
      const res = await httpRequest(`${o.orderServiceUrl}/v1/orders`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${o.customerToken}`,
          'idempotency-key': randomUUID(),
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      });
      if (res.status !== 202) {
        failures.push(`${res.status} ${res.body.slice(0, 200)}`);
        return;
      }
      const traceresponse = res.headers.traceresponse;
      const traceId = typeof traceresponse === 'string' && traceresponse.endsWith('-01') ? traceresponse.split('-')[1] : undefined;
      placed.push({ orderId: (JSON.parse(res.body) as { orderId: string }).orderId, sentAt, postMs: performance.now() - t, ...(traceId ? { traceId } : {}) });
    } catch (err) {
      failures.push((err as Error).message);
    }
  });
  return { offered: loop.offered, placed, failures, endedAt: loop.endedAt, startedAt: loop.startedAt };
}

/**
 * Open-loop arrivals at a constant rate: `send(i)` is called at i / rate
 * seconds after the start whether or not earlier calls have settled. Resolves
 * once every call has settled; `endedAt` is when the last one was made (ms
 * since the epoch). `send` must not reject: it records its own failures.
 */
export async function openLoop(
  rate: number,
  seconds: number,
  send: (i: number) => Promise<void>,
): Promise<{ offered: number; startedAt: number; endedAt: number }> {
  const total = Math.round(rate * seconds);
  const inFlight = new Set<Promise<void>>();
  const startedAt = Date.now();
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const p = send(sent);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(10, 1000 / rate))));
  }
  const endedAt = Date.now();
  await Promise.all([...inFlight]);
  return { offered: total, startedAt, endedAt };
}

export interface OrderOutcome {
  orderId: string;
  status: string;
  /** When the order left `pending` (its status history's time), ms since the epoch; undefined while pending. */
  terminalAt: number | undefined;
}

interface OrderView {
  orderId: string;
  status: string;
  statusHistory: { status: string; at: string }[];
}

/** Every order of one customer, from the order service's list API (admin, newest first, pages of 100). */
export async function ordersOf(orderServiceUrl: string, adminToken: string, customerId: string): Promise<OrderOutcome[]> {
  const out: OrderOutcome[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ customerId, limit: '100', ...(cursor ? { cursor } : {}) });
    const res = await httpRequest(`${orderServiceUrl}/v1/orders?${query}`, { method: 'GET', headers: { authorization: `Bearer ${adminToken}` } });
    if (res.status !== 200) throw new Error(`listing orders: ${res.status} ${res.body.slice(0, 200)}`);
    const page = JSON.parse(res.body) as { items: OrderView[]; nextCursor: string | null };
    for (const o of page.items) {
      const left = o.statusHistory.find((h) => h.status !== 'pending');
      out.push({ orderId: o.orderId, status: o.status, terminalAt: left ? Date.parse(left.at) : undefined });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Whether the customer still has a pending order in the read model (one cheap request). */
export async function hasPendingOrders(orderServiceUrl: string, adminToken: string, customerId: string): Promise<boolean> {
  const query = new URLSearchParams({ customerId, status: 'pending', limit: '1' });
  const res = await httpRequest(`${orderServiceUrl}/v1/orders?${query}`, { method: 'GET', headers: { authorization: `Bearer ${adminToken}` } });
  if (res.status !== 200) throw new Error(`listing pending orders: ${res.status} ${res.body.slice(0, 200)}`);
  return (JSON.parse(res.body) as { items: unknown[] }).items.length > 0;
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
