import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { PACTS_DIR, clearConsumerPacts } from '@shop/platform/testing/pacts';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AccessError,
  AdminApi,
  ApiError,
  type Alert,
  type FunnelPoint,
  type Items,
  type LiveOrder,
  type ProductSales,
  type ProjectionStatus,
  type RevenuePoint,
  type SagaLatencyPoint,
  type Series,
  type StockLevel,
  type StockOut,
} from '../src/dashboard/client/api';
import { followEventStream } from '../src/dashboard/client/event-stream';
import { lastMinutes } from '../src/dashboard/client/time-window';

const CONSUMER = 'analytics-dashboard';
const PROVIDER = 'analytics-service';

const { eachLike, integer, like, number, regex, reify, string } = MatchersV3;

/**
 * The page's clock in these tests, and the hour the time-series panels ask
 * about (`lastMinutes`, as they do): the provider's states put their facts
 * in it, from 10:00 on.
 */
const NOW = new Date('2026-03-02T10:30:00.000Z');
const WINDOW = lastMinutes(NOW, 60);
const T0 = '2026-03-02T10:00:00.000Z';

const TOKEN = 'the-dashboard-token';
const ISO_8601 = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$';
const timestamp = (example: string) => regex(ISO_8601, example);
const currency = regex('^[A-Z]{3}$', 'EUR');
const bearer = regex('^Bearer [A-Za-z0-9\\-._~+/]+=*$', `Bearer ${TOKEN}`);
// Pact compares a Content-Type by its media type, so a charset parameter of the service's is fine.
const problem = { 'Content-Type': 'application/problem+json' };
/** The query of a time-series panel (funnel, revenue, sagas), and what the pact accepts for it. */
const LAST_HOUR = { from: WINDOW.from.toISOString(), to: WINDOW.to.toISOString(), bucket: 'minute' };
const timeSeries = { from: timestamp(LAST_HOUR.from), to: timestamp(LAST_HOUR.to), bucket: 'minute' };

/**
 * The dashboard's page as a consumer of the analytics admin API: each
 * request its panels make (panels/*.ts, main.ts), made by the page's own
 * client (`AdminApi`, `followEventStream`) against Pact's mock server,
 * which answers with the contract's example; the test asserts what the
 * client makes of it. A response holds only the fields the panels read, so
 * the service stays free to change the others.
 */
// Retried: Pact 16.3–16.5's mock server can report an answered request as not received under CPU load (pact-reference #535); 16.2's pact-core 18 has no packages but linux-x64 in the registry, so npm ci cannot install it.
describe('analytics-dashboard as a consumer of the analytics API (Pact)', { retry: 2 }, () => {
  const pact = new PactV4({ consumer: CONSUMER, provider: PROVIDER, dir: PACTS_DIR, logLevel: 'error' });
  const api = new AdminApi(TOKEN);

  beforeAll(() => clearConsumerPacts(CONSUMER));
  afterEach(() => vi.unstubAllGlobals());

  /**
   * The page calls the API by path, relative to its origin; in these tests
   * that origin is Pact's mock server. Each request has a connection of its
   * own: a mock server lives for one test, and the next one may get its
   * port, where a kept-alive connection would still lead to the old one.
   */
  const asThePage = (server: { url: string }) => {
    const fetchFromNode = globalThis.fetch;
    vi.stubGlobal('fetch', (input: string | URL | Request, init: RequestInit = {}) =>
      fetchFromNode(typeof input === 'string' ? new URL(input, server.url) : input, { ...init, headers: { ...(init.headers as Record<string, string>), connection: 'close' } }),
    );
  };

  /** One GET of the admin API, answered 200 with `body`: the client must return the body as the mock server reified it. */
  const read = async <T>(state: string, description: string, path: string, query: Record<string, unknown>, body: unknown, call: () => Promise<T>) => {
    await pact
      .addInteraction()
      .given(state)
      .uponReceiving(description)
      .withRequest('GET', path, (b) => {
        b.headers({ authorization: bearer });
        if (Object.keys(query).length > 0) b.query(query as Parameters<typeof b.query>[0]);
      })
      .willRespondWith(200, (b) => b.jsonBody(body))
      .executeTest(async (server) => {
        asThePage(server);
        expect(await call()).toEqual(reify(body));
      });
  };

  it('the funnel panel reads orders placed, confirmed, rejected and cancelled per minute of the last hour', async () => {
    const body = { points: eachLike({ at: timestamp(T0), placed: integer(3), confirmed: integer(2), rejected: integer(1), cancelled: integer(0) }) };
    await read('orders were placed and confirmed', 'a request for the order funnel of the last hour', '/v1/funnel', timeSeries, body, () =>
      api.get<Series<FunnelPoint>>('/v1/funnel', LAST_HOUR),
    );
  });

  it('the revenue panel reads the net revenue per minute and currency of the last hour', async () => {
    const body = { points: eachLike({ at: timestamp(T0), currency, netAmount: integer(2500) }) };
    await read('orders were placed and confirmed', 'a request for the revenue of the last hour', '/v1/revenue', timeSeries, body, () =>
      api.get<Series<RevenuePoint>>('/v1/revenue', LAST_HOUR),
    );
  });

  it('the sagas panel reads the saga durations and compensation rate per minute of the last hour', async () => {
    const body = {
      points: eachLike({ at: timestamp(T0), count: integer(4), p50Ms: number(820), p95Ms: number(1900), p99Ms: number(2100), compensated: integer(1), compensationRate: number(0.25) }),
    };
    await read('place-order sagas ended', 'a request for the saga latencies of the last hour', '/v1/sagas/latency', timeSeries, body, () =>
      api.get<Series<SagaLatencyPoint>>('/v1/sagas/latency', LAST_HOUR),
    );
  });

  it('the alerts panel reads the active alerts', async () => {
    const body = {
      items: eachLike({
        id: string('6f1c1f4e-2f0a-4a39-9d55-4f6bb8b1f0a1'),
        ruleName: string('Sold out'),
        severity: regex('^(info|warning|critical)$', 'critical'),
        message: string('SKU-B: available stock 0 is below 1'),
        value: number(0),
        threshold: number(1),
        raisedAt: timestamp(T0),
      }),
    };
    await read('a stock alert is raised', 'a request for the active alerts', '/v1/alerts', { state: 'active' }, body, () =>
      api.get<Items<Alert>>('/v1/alerts', { state: 'active' }),
    );
  });

  it('the alerts panel reads the alert history', async () => {
    const body = {
      items: eachLike({
        state: regex('^(raised|resolved)$', 'resolved'),
        ruleName: string('Sold out'),
        severity: regex('^(info|warning|critical)$', 'critical'),
        raisedAt: timestamp(T0),
        resolvedAt: timestamp(T0),
      }),
    };
    await read('a stock alert was raised, then resolved', 'a request for the alert history', '/v1/alerts/history', {}, body, () => api.get<Items<Alert>>('/v1/alerts/history'));
  });

  it('the products panel reads the ten best-selling products by units', async () => {
    const body = { items: eachLike({ sku: string('SKU-A'), name: string('Mug'), currency, units: integer(4), revenue: integer(4000) }) };
    await read('orders were placed and confirmed', 'a request for the ten best-selling products', '/v1/products/top', { limit: '10', by: 'units' }, body, () =>
      api.get<Items<ProductSales>>('/v1/products/top', { limit: 10, by: 'units' }),
    );
  });

  it('the stock panel reads the stock levels', async () => {
    const body = { items: eachLike({ sku: string('SKU-A'), available: integer(5), reserved: integer(1) }) };
    await read('stock levels changed and a SKU ran out', 'a request for the stock levels', '/v1/stock', {}, body, () => api.get<Items<StockLevel>>('/v1/stock'));
  });

  it('the stock panel reads the eight latest stock-outs', async () => {
    const body = { items: eachLike({ sku: string('SKU-B'), cause: string('reserved'), at: timestamp(T0) }) };
    await read('stock levels changed and a SKU ran out', 'a request for the latest stock-outs', '/v1/stock/outs', { limit: '8' }, body, () =>
      api.get<Items<StockOut>>('/v1/stock/outs', { limit: 8 }),
    );
  });

  it('the orders panel reads the fifteen latest orders', async () => {
    const body = {
      items: eachLike({
        orderId: MatchersV3.uuid('0b7c8f4e-9d1a-4c55-8a0e-5d3f2a1b6c7d'),
        customerId: string('cust-1'),
        status: regex('^(pending|confirmed|rejected|cancelling|cancelled)$', 'confirmed'),
        units: integer(3),
        total: like({ amount: integer(2500), currency }),
        // Confirmed orders carry no reason (a rejection or cancellation would).
        reason: null,
        placedAt: timestamp(T0),
        updatedAt: timestamp(T0),
      }),
    };
    await read('orders were placed and confirmed', 'a request for the latest orders', '/v1/orders/live', { limit: '15' }, body, () =>
      api.get<Items<LiveOrder>>('/v1/orders/live', { limit: 15 }),
    );
  });

  it('the projections panel reads each projection with its position and lag', async () => {
    const body = {
      items: eachLike({ name: string('order_funnel'), state: regex('^(live|rebuilding)$', 'live'), position: integer(42), head: integer(42), lag: integer(0) }),
    };
    await read('the projections caught up with the archive', "a request for the projections' status", '/v1/projections', {}, body, () =>
      api.get<Items<ProjectionStatus>>('/v1/projections'),
    );
  });

  /** An answer the page must not take as data: the client must reject with what the test expects. */
  const refused = async (state: string, description: string, path: string, query: Record<string, string>, status: number, detail: string, call: () => Promise<unknown>, expected: (err: unknown) => void) => {
    await pact
      .addInteraction()
      .given(state)
      .uponReceiving(description)
      .withRequest('GET', path, (b) => {
        b.headers({ authorization: bearer });
        if (Object.keys(query).length > 0) b.query(query);
      })
      .willRespondWith(status, (b) => b.headers(problem).jsonBody({ detail: string(detail) }))
      .executeTest(async (server) => {
        asThePage(server);
        const err = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expected(err);
      });
  };

  it('a refused token (401) is an AccessError, which makes the page ask for a new token', async () => {
    await refused('the admin token has expired', 'a request with an expired token', '/v1/projections', {}, 401, 'token has expired', () => api.get('/v1/projections'), (err) => {
      expect(err).toBeInstanceOf(AccessError);
      expect(err).toMatchObject({ status: 401, message: 'token has expired' });
    });
  });

  it("a token without the admin role (403) is an AccessError, which makes the page ask for an admin's token", async () => {
    await refused("the token is a customer's", "a request with a customer's token", '/v1/projections', {}, 403, 'requires role admin', () => api.get('/v1/projections'), (err) => {
      expect(err).toBeInstanceOf(AccessError);
      expect(err).toMatchObject({ status: 403, message: 'requires role admin' });
    });
  });

  it("another problem is an ApiError carrying the problem's detail, which the panel shows", async () => {
    const at = WINDOW.to.toISOString();
    await refused(
      'orders were placed and confirmed',
      'a request for the order funnel of a window that ends when it starts',
      '/v1/funnel',
      { from: at, to: at, bucket: 'minute' },
      400,
      'from must be before to',
      () => api.get('/v1/funnel', { from: at, to: at, bucket: 'minute' }),
      (err) => {
        expect(err).toBeInstanceOf(ApiError);
        expect(err).toMatchObject({ status: 400, message: 'from must be before to' });
      },
    );
  });

  it('the event stream refused for an expired token is an AccessError: the page stops following it and asks for a new token', async () => {
    await pact
      .addInteraction()
      .given('the admin token has expired')
      .uponReceiving('a request to follow the projection changes with an expired token')
      .withRequest('GET', '/v1/stream', (b) => b.headers({ authorization: bearer, accept: 'text/event-stream' }))
      .willRespondWith(401, (b) => b.headers(problem).jsonBody({ detail: string('token has expired') }))
      .executeTest(async (server) => {
        asThePage(server);
        const states: string[] = [];
        const following = followEventStream({ url: '/v1/stream', headers: api.headers(), onEvent: () => undefined, onState: (s) => states.push(s), signal: new AbortController().signal });
        await expect(following).rejects.toBeInstanceOf(AccessError);
        await expect(following).rejects.toMatchObject({ status: 401, message: 'token has expired' });
        expect(states).toEqual(['connecting']);
      });
  });
});
