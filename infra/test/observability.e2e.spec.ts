import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jaegerUnavailableReason } from '../jaeger/jaeger-server';
import { Trace, type OtlpTrace } from '../jaeger/jaeger-trace';
import { PrometheusServer, prometheusPath } from '../observability/prometheus-server';
import { expressionsOf, metricNamesIn, scrapedMetricNames } from '../observability/promql-expressions';
import { SERVICES } from '../local/stack';
import { LocalStack, stopAllStacks } from './support/local-stack';
import { parseExposition, series, sum, type Sample } from './support/prometheus-text';

/**
 * Observability on the whole local stack, started as `npm start -- --tracing`
 * (Jaeger v2 beside it, every service exporting OTLP, sampling everything):
 * one order is one trace across all five services, read back from Jaeger's
 * query API; `/metrics` of every service moves by what the orders did and
 * its lags return to 0; no log line carries the JWT secret or a token.
 */
const unavailable = await jaegerUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI must be able to run Jaeger: ${unavailable}`);
if (unavailable) console.warn(`skipping the observability stack test: ${unavailable}`);
const noPrometheus = prometheusPath() === undefined;
if (noPrometheus && process.env.CI) throw new Error("CI must have Prometheus (Debian's prometheus package)");
if (noPrometheus) console.warn("skipping the real Prometheus check of the dashboards and rules: no prometheus binary (Debian's prometheus package)");

describe.skipIf(unavailable !== undefined)('observability on the local stack (npm start -- --tracing)', () => {
  let stack: LocalStack;
  let jaeger: string;
  let customer: string;
  const tokens: string[] = [];

  beforeAll(async () => {
    // Spans leave each service within half a second (instead of the SDK's 5 s), and every access is logged.
    // A short payment deadline, so that one for an unanswered payment fires within the test, before order-service
    // gives up on the provider itself.
    stack = await LocalStack.start({
      args: ['--tracing'],
      env: { OTEL_BSP_SCHEDULE_DELAY: '500', LOG_LEVEL: 'debug', DEADLINE_PAYMENT_MS: '2s', PAYMENT_TIMEOUT: '8s' },
    });
    jaeger = stack.stack.tracing!.jaegerUi;
    customer = await stack.token('customer');
    tokens.push(customer, await stack.token('admin'));
  }, 180_000);
  afterAll(async () => {
    await stopAllStacks();
  }, 120_000);

  async function traceOf(traceId: string, until: (t: Trace) => boolean): Promise<Trace> {
    let last: Trace | undefined;
    await waitFor(async () => {
      const res = await fetch(`${jaeger}/api/v3/traces/${traceId}`);
      if (res.status !== 200) return false;
      const body = (await res.json()) as { result: OtlpTrace };
      last = new Trace(body.result);
      // Spans arrive from five exporters in their own time: wait for a whole tree, every parent present.
      return last.whole && until(last);
    }, 30_000).catch((err: unknown) => {
      const seen = last ? last.spans.map((s) => `${s.service}: ${s.operationName}`).join('\n') : 'nothing';
      throw new Error(`trace ${traceId} never became complete (${(err as Error).message}); spans:\n${seen}`);
    });
    return last!;
  }

  /** Places an order; returns its id and the trace id its response names. */
  async function place(sku: string, quantity: number, paymentToken: string): Promise<{ orderId: string; traceId: string }> {
    const res = await stack.request<{ orderId: string }>('order-service', 'POST', '/v1/orders', customer, { lines: [{ sku, quantity }], paymentToken }, {
      'idempotency-key': crypto.randomUUID(),
    });
    expect(res.status).toBe(202);
    const traceresponse = res.headers.get('traceresponse');
    expect(traceresponse).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    return { orderId: res.body.orderId, traceId: traceresponse!.split('-')[1]! };
  }

  const allFive = (t: Trace) => SERVICES.every((s) => t.services.has(s.name));

  it('an order that confirms is one trace: POST, then every service in causal order, parent to child, down to analytics', async () => {
    const [product] = await stack.products();
    const { orderId, traceId } = await place(product!.sku, 1, 'tok_approve');
    await stack.waitForOrder(customer, orderId, ['confirmed']);
    const trace = await traceOf(traceId, (t) => allFive(t) && t.named(/^process /, 'analytics-service').length > 0 && t.named(/^process /, 'order-service').length >= 2);

    // One tree: a single root (the POST), every other span's parent is in the trace.
    const roots = trace.spans.filter((s) => !s.parentId);
    expect(roots.map((s) => `${s.service} ${s.operationName}`)).toEqual(['order-service POST /v1/orders']);
    for (const s of trace.spans) if (s.parentId) expect(trace.byId(s.parentId), `parent of ${s.service} ${s.operationName}`).toBeDefined();
    // Children start after their parents (one host, one clock).
    for (const s of trace.spans) {
      const parent = trace.byId(s.parentId);
      if (parent) expect(s.startTime).toBeGreaterThanOrEqual(parent.startTime);
    }

    // Messaging spans: `publish <topic>` by the relay, `process <topic>` by a consumer, the consumer a child of the publish
    // span and linked to it (its creation context).
    const processes = trace.named(/^process /);
    for (const p of processes) {
      const parent = trace.byId(p.parentId)!;
      expect(parent.operationName).toBe(p.operationName.replace(/^process/, 'publish'));
      expect(p.links).toEqual([parent.spanID]);
      expect(trace.tag(p, 'messaging.consumer.group.name')).toBeTruthy();
    }

    // The saga's path through the services, as ancestry: catalog prices under the coordinator, inventory reserves under
    // a coordinator span that continued catalog's reply, the payment runs in order-service under the coordinator, and
    // analytics sees the events under the whole chain.
    const path = (service: string) => {
      const first = processes.filter((p) => p.service === service).sort((a, b) => (a.startTime < b.startTime ? -1 : 1))[0];
      expect(first, `a process span in ${service}`).toBeDefined();
      return trace.ancestry(first!).map((s) => s.service);
    };
    const dedupe = (list: string[]) => list.filter((s, i) => s !== list[i - 1]);
    expect(dedupe(path('catalog-service'))).toEqual(['order-service', 'coordinator-service', 'catalog-service']);
    expect(dedupe(path('inventory-service'))).toEqual(['order-service', 'coordinator-service', 'catalog-service', 'coordinator-service', 'inventory-service']);
    const payment = processes
      .filter((p) => p.service === 'order-service')
      .map((p) => dedupe(trace.ancestry(p).map((s) => s.service)))
      .find((chain) => chain.includes('inventory-service'));
    expect(payment).toEqual(['order-service', 'coordinator-service', 'catalog-service', 'coordinator-service', 'inventory-service', 'coordinator-service', 'order-service']);
    // And the spans of the database work done inside it (only under a parent span: idle pollers make none).
    expect(trace.spans.some((s) => /^pg\.query/.test(s.operationName))).toBe(true);
    expect(trace.named(/^compensate /)).toEqual([]);
  });

  it('an order whose payment is declined is one trace too, with the compensation as spans that give the reason', async () => {
    const [, product] = await stack.products();
    const { orderId, traceId } = await place(product!.sku, 1, 'tok_decline');
    await stack.waitForOrder(customer, orderId, ['rejected']);
    const trace = await traceOf(traceId, (t) => allFive(t) && t.named(/^compensate /).length >= 2 && t.named(/^process /, 'inventory-service').length >= 2);

    const turned = trace.named(/^compensate place-order$/, 'coordinator-service');
    expect(turned).toHaveLength(1);
    expect(String(trace.tag(turned[0]!, 'shop.saga.compensation.reason'))).toMatch(/declined/i);
    const steps = trace.named(/^compensate (releasing|rejecting|voiding)$/, 'coordinator-service').map((s) => s.operationName);
    expect(steps).toContain('compensate releasing');
    // The compensation runs in the span that handled the decline, which continues order-service's payment span.
    const chain = trace.ancestry(turned[0]!).map((s) => s.service);
    expect(chain[0]).toBe('order-service');
    expect(chain.filter((s, i) => s !== chain[i - 1])).toContain('inventory-service');
    // Inventory then releases the stock, in the same trace.
    const released = trace.named(/^process /, 'inventory-service').filter((p) => trace.ancestry(p).some((a) => a.spanID === trace.byId(turned[0]!.parentId)?.spanID));
    expect(released.length).toBeGreaterThan(0);
  });

  it("a deadline that expires continues the saga's trace: the expiry is a child of the span that scheduled it", async () => {
    const [, , product] = await stack.products();
    const { orderId, traceId } = await place(product!.sku, 1, 'tok_no_answer');
    await stack.waitForOrder(customer, orderId, ['rejected'], 45_000);
    const trace = await traceOf(traceId, (t) => t.named(/^deadline place-order$/).length > 0 && t.named(/^compensate place-order$/).length > 0);
    const [expiry] = trace.named(/^deadline place-order$/, 'coordinator-service');
    // Scheduled by the coordinator in the span of the message it was handling then.
    const scheduledIn = trace.byId(expiry!.parentId)!;
    expect(scheduledIn.service).toBe('coordinator-service');
    expect(scheduledIn.operationName).toMatch(/^process [a-z]+\.events$/);
    expect(expiry!.links).toEqual([scheduledIn.spanID]);
    // The compensation it starts descends from it (directly, or through the expiry of a re-sent command's deadline),
    // and gives the reason.
    const [turned] = trace.named(/^compensate place-order$/);
    expect(trace.ancestry(turned!).some((s) => s.operationName === 'deadline place-order')).toBe(true);
    expect(String(trace.tag(turned!, 'shop.saga.compensation.reason'))).toMatch(/did not answer|in time|time/i);
  }, 60_000);

  it("a client's mistake names its trace too: the problem's traceId is the traceresponse's, and Jaeger has the request", async () => {
    const res = await stack.request<{ traceId: string; status: number }>('order-service', 'POST', '/v1/orders', customer, { lines: [] }, {
      'idempotency-key': crypto.randomUUID(),
    });
    expect(res.status).toBe(400);
    const traceId = res.headers.get('traceresponse')!.split('-')[1]!;
    expect(res.body.traceId).toBe(traceId);
    const trace = await traceOf(traceId, (t) => t.spans.length > 0);
    const server = trace.spans.find((s) => s.operationName === 'POST /v1/orders')!;
    expect(trace.tag(server, 'http.response.status_code')).toBe(400);
  });

  async function scrapeAll(): Promise<Record<string, Sample[]>> {
    const out: Record<string, Sample[]> = {};
    for (const service of SERVICES) {
      const res = await fetch(`${stack.url(service.name)}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      out[service.name] = parseExposition(await res.text());
    }
    return out;
  }
  const lags = (scrapes: Record<string, Sample[]>) =>
    Object.entries(scrapes).flatMap(([service, samples]) =>
      ['shop_bus_consumer_lag_messages', 'shop_outbox_relay_lag_events', 'shop_projection_lag_events'].flatMap((name) =>
        series(samples, name).map((s) => ({ service, name, labels: s.labels, value: s.value })),
      ),
    );

  it('/metrics on every service moves by what the orders did, and every lag returns to 0', async () => {
    const products = await stack.products();
    const before = await scrapeAll();
    const confirmed = 4;
    const declined = 2;
    const orders = [
      ...products.slice(2, 2 + confirmed).map((p) => place(p.sku, 1, 'tok_approve')),
      ...products.slice(2 + confirmed, 2 + confirmed + declined).map((p) => place(p.sku, 1, 'tok_decline')),
    ];
    const placed = await Promise.all(orders);
    for (const [i, o] of placed.entries()) await stack.waitForOrder(customer, o.orderId, [i < confirmed ? 'confirmed' : 'rejected']);
    const bad = await stack.request('order-service', 'POST', '/v1/orders', customer, { lines: [] }, { 'idempotency-key': crypto.randomUUID() });
    expect(bad.status).toBe(400);

    // Every consumer group, relay and projection catches up: its lag gauge reads 0.
    let after: Record<string, Sample[]> = {};
    await waitFor(async () => {
      after = await scrapeAll();
      return lags(after).every((l) => l.value === 0);
    }, 30_000).catch(() => {
      throw new Error(`lags did not return to 0: ${JSON.stringify(lags(after).filter((l) => l.value !== 0))}`);
    });
    // Wait for the analytics of the last saga ends to be counted too.
    const delta = (service: string, name: string, labels: Record<string, string> = {}) => sum(after[service]!, name, labels) - sum(before[service]!, name, labels);

    // There is a lag series for each group's partitions, each relay and each projection.
    const lagSeries = lags(after);
    for (const service of SERVICES) {
      expect(lagSeries.some((l) => l.service === service.name && l.name === 'shop_bus_consumer_lag_messages'), `${service.name} consumer lag`).toBe(true);
    }
    expect(lagSeries.filter((l) => l.name === 'shop_outbox_relay_lag_events').map((l) => l.service)).toEqual(
      expect.arrayContaining(['catalog-service', 'coordinator-service', 'inventory-service', 'order-service']),
    );
    expect(lagSeries.some((l) => l.name === 'shop_projection_lag_events' && l.labels.projection === 'saga_list')).toBe(true);

    // HTTP: the posts by route template and status, counted and timed.
    const posted = { method: 'POST', route: '/v1/orders', status_code: '202' };
    expect(delta('order-service', 'shop_http_requests_total', posted)).toBe(confirmed + declined);
    expect(delta('order-service', 'shop_http_request_duration_seconds_count', posted)).toBe(confirmed + declined);
    expect(delta('order-service', 'shop_http_requests_total', { ...posted, status_code: '400' })).toBe(1);
    expect(series(after['order-service']!, 'shop_http_requests_total').every((s) => !/[0-9a-f]{8}-[0-9a-f]{4}/.test(s.labels.route ?? ''))).toBe(true);

    // Sagas: started, completed, compensated, ended by status, and their durations.
    const placeOrder = { saga_type: 'place-order' };
    expect(delta('coordinator-service', 'shop_sagas_started_total', placeOrder)).toBe(confirmed + declined);
    expect(delta('coordinator-service', 'shop_sagas_completed_total', placeOrder)).toBe(confirmed);
    expect(delta('coordinator-service', 'shop_sagas_compensated_total', placeOrder)).toBe(declined);
    expect(delta('coordinator-service', 'shop_sagas_ended_total', { ...placeOrder, status: 'rejected' })).toBe(declined);
    expect(delta('coordinator-service', 'shop_sagas_failed_total', placeOrder)).toBe(0);
    expect(delta('coordinator-service', 'shop_saga_duration_seconds_count', { ...placeOrder, status: 'completed' })).toBe(confirmed);
    expect(delta('coordinator-service', 'shop_saga_duration_seconds_bucket', { ...placeOrder, status: 'completed', le: '+Inf' })).toBe(confirmed);
    expect(sum(after['coordinator-service']!, 'shop_sagas_stuck', placeOrder)).toBe(0);

    // The bus: every message a relay published to a topic was handled once by each group reading that topic, none
    // retried or dead-lettered, and the dead-letter topics are empty.
    const published = new Map<string, number>();
    for (const service of SERVICES) {
      for (const s of series(after[service.name]!, 'shop_outbox_messages_published_total')) {
        published.set(s.labels.topic!, (published.get(s.labels.topic!) ?? 0) + delta(service.name, 'shop_outbox_messages_published_total', { relay: s.labels.relay!, topic: s.labels.topic! }));
      }
    }
    let checked = 0;
    for (const service of SERVICES) {
      for (const s of series(after[service.name]!, 'shop_bus_messages_handled_total')) {
        const { group, topic } = s.labels as { group: string; topic: string };
        expect(delta(service.name, 'shop_bus_messages_handled_total', { group, topic }), `${group} on ${topic}`).toBe(published.get(topic) ?? 0);
        if ((published.get(topic) ?? 0) > 0) checked++;
      }
      expect(delta(service.name, 'shop_bus_messages_retried_total')).toBe(0);
      expect(delta(service.name, 'shop_bus_messages_dead_lettered_total')).toBe(0);
      expect(series(after[service.name]!, 'shop_bus_dead_letter_messages').every((s) => s.value === 0)).toBe(true);
      expect(delta(service.name, 'shop_bus_handler_duration_seconds_count')).toBeGreaterThan(0);
      // The event store: appends and commits timed, events counted.
      expect(delta(service.name, 'shop_event_store_append_duration_seconds_count'), service.name).toBeGreaterThan(0);
      expect(delta(service.name, 'shop_event_store_events_appended_total'), service.name).toBeGreaterThan(0);
      // Node runtime metrics.
      expect(sum(after[service.name]!, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      expect(series(after[service.name]!, 'nodejs_eventloop_lag_seconds')).toHaveLength(1);
    }
    // Every group/topic pair the orders went through (coordinator on three event topics, analytics on four, the
    // participants on their commands) was checked.
    expect(checked).toBeGreaterThanOrEqual(10);
    // Analytics archived each order's events: what order-service published to order.events.
    expect(published.get('order.events')).toBeGreaterThanOrEqual(3 * (confirmed + declined));
  });

  it.skipIf(noPrometheus)(
    'every PromQL expression of the dashboards and alert rules names only metrics a real scrape exposes, and a real Prometheus scraping the stack evaluates it',
    async () => {
      const exposed = new Set<string>(['up']);
      for (const service of SERVICES) for (const name of scrapedMetricNames(await (await fetch(`${stack.url(service.name)}/metrics`)).text())) exposed.add(name);
      const expressions = expressionsOf();
      expect(expressions.length).toBeGreaterThan(40);
      const unknown = expressions.flatMap((e) => metricNamesIn(e.expr).filter((n) => !exposed.has(n)).map((n) => `${e.file} ${e.place}: ${n}`));
      expect(unknown).toEqual([]);

      const prometheus = new PrometheusServer({
        dataDir: path.join(path.dirname(stack.dataDir), 'prometheus'),
        targets: Object.fromEntries(SERVICES.map((s) => [s.name, new URL(stack.url(s.name)).host])),
      });
      try {
        await prometheus.start();
        // Every target scraped and up.
        await waitFor(async () => {
          const up = await prometheus.query('sum(up)');
          return up.status === 'success' && Number((up.data!.result[0] as { value: [number, string] } | undefined)?.value[1]) === SERVICES.length;
        }, 30_000);
        const failures: string[] = [];
        for (const e of expressions) {
          const answer = await prometheus.query(e.expr);
          if (answer.status !== 'success') failures.push(`${e.file} ${e.place}: ${answer.errorType}: ${answer.error}`);
        }
        expect(failures).toEqual([]);
        // The rules load and evaluate without errors; with the stack healthy, none fires.
        await waitFor(async () => {
          const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { health: string; lastEvaluation: string }[] }[] } };
          const all = rules.data.groups.flatMap((g) => g.rules);
          return all.length > 0 && all.every((r) => r.health === 'ok' && !r.lastEvaluation.startsWith('0001'));
        }, 30_000);
        const alerts = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: { alertname: string }; state: string }[] } };
        expect(alerts.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname)).toEqual([]);
      } finally {
        await prometheus.stop();
      }
    },
    120_000,
  );

  it('logs are JSON lines with the service, its version and, inside a span, the trace id; none carries the JWT secret or a token', async () => {
    const logs = path.join(stack.dataDir, 'logs');
    const files = readdirSync(logs).map((f) => path.join(logs, f));
    expect(files.length).toBe(SERVICES.length);
    const secret = JSON.parse(readFileSync(path.join(stack.dataDir, 'credentials.json'), 'utf8')) as { authJwtSecret: string };
    let traced = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(text.includes(secret.authJwtSecret), `${file} holds the JWT secret`).toBe(false);
      for (const token of tokens) expect(text.includes(token), `${file} holds a token`).toBe(false);
      // No token's signature either (a log that cut the token short).
      for (const token of tokens) expect(text.includes(token.split('.')[2]!), `${file} holds a token's signature`).toBe(false);
      const service = path.basename(file, '.log');
      for (const line of text.split('\n').filter((l) => l.startsWith('{'))) {
        const entry = JSON.parse(line) as { service?: string; version?: string; trace_id?: string; span_id?: string; msg?: string };
        expect(entry.service).toBe(service);
        expect(entry.version).toMatch(/^\d+\.\d+\.\d+$/);
        if (entry.trace_id) {
          expect(entry.trace_id).toMatch(/^[0-9a-f]{32}$/);
          expect(entry.span_id).toMatch(/^[0-9a-f]{16}$/);
          traced++;
        }
      }
    }
    // The access log of the orders above was written inside their server spans.
    expect(traced).toBeGreaterThan(0);
  });
});
