import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderConfirmed, OrderPlaced, OrderRejected, SagaEnded, StockLevelChanged } from '@shop/contracts';
import { decodeEnvelope, systemClock } from '@shop/platform';
import { waitFor } from '@shop/platform/testing';
import { AlertEvaluator } from '../src/alerts/alert-evaluator';
import { AlertRulesStore } from '../src/alerts/alert-rules-store';
import { alertStreamId } from '../src/alerts/alerts';
import { startAnalytics, type AnalyticsUnderTest, eur, message } from './support';

const now = () => new Date().toISOString();
const line = { sku: 'SKU-AL1', quantity: 1 };
const priced = [{ ...line, unitPrice: eur(100), lineTotal: eur(100) }];

describe('alert rules and saga latency (analytics-service in-process)', () => {
  let svc: AnalyticsUnderTest;
  let admin: string;

  beforeAll(async () => {
    svc = await startAnalytics('analytics_alerts', { ALERT_EVALUATION_INTERVAL: '150ms' });
    admin = await svc.token('admin');
  });
  afterAll(async () => {
    await svc?.stop();
  });

  /** Publishes `n` orders placed now, confirmed or rejected, and waits for the projections. */
  async function orders(confirmed: number, rejected: number): Promise<void> {
    const messages = [];
    for (let i = 0; i < confirmed + rejected; i++) {
      const orderId = randomUUID();
      messages.push(message(OrderPlaced, { orderId, customerId: 'c', lines: [line], placedAt: now(), channel: 'web' }));
      messages.push(
        i < confirmed
          ? message(OrderConfirmed, { orderId, customerId: 'c', lines: priced, total: eur(100), confirmedAt: now() })
          : message(OrderRejected, { orderId, customerId: 'c', reason: 'SKU-AL1 is out of stock', rejectedAt: now() }),
      );
    }
    await svc.waitConsumed(await svc.publish(messages));
    await svc.projectionsCaughtUp();
  }

  const active = async (ruleId: string) =>
    ((await svc.get(`/v1/alerts?state=active&ruleId=${ruleId}`, admin)).json as { items: { subject: string; message: string; id: string }[] }).items;

  it('refuses bad rules with a 400 problem, customers with 403, and unknown rules with 404', async () => {
    const customer = await svc.token('customer');
    const good = { name: 'r', metric: 'rejection_rate', comparator: 'above', threshold: 0.2 };
    expect((await svc.request('POST', '/v1/alerts/rules', { token: customer, body: good })).status).toBe(403);
    for (const body of [
      { ...good, threshold: 1.5 },
      { ...good, sku: 'SKU-1' },
      { ...good, metric: 'cpu' },
      { ...good, windowMinutes: 0 },
      { ...good, name: '' },
      { ...good, threshold: -1 },
    ]) {
      const res = await svc.request('POST', '/v1/alerts/rules', { token: admin, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect((await svc.get(`/v1/alerts/rules/${randomUUID()}`, admin)).status).toBe(404);
    expect((await svc.get('/v1/alerts/rules/not-a-uuid', admin)).status).toBe(400);
    expect((await svc.get('/v1/alerts/rules', admin)).json.items).toEqual([]);
  });

  it('raises a rejection-rate alert over its window as an event, publishes it, and resolves it when the rate recovers', async () => {
    const created = await svc.request('POST', '/v1/alerts/rules', {
      token: admin,
      body: { name: 'Rejections above 20%', metric: 'rejection_rate', comparator: 'above', threshold: 0.2, windowMinutes: 5, minSamples: 4, severity: 'critical' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"1"');
    const ruleId = created.json.id as string;

    await orders(3, 2); // 2 / 5 = 40%
    await waitFor(async () => (await active(ruleId)).length === 1, 10_000);
    const [alert] = await active(ruleId);
    // The evaluator runs while the projections apply the batch, so it may
    // raise as soon as 4 of the 5 orders count (25% or 50% then, else 40%).
    const raised = /^rejection rate (\d+\.\d)% is above 20\.0% over 5 min \((\d) orders\)$/.exec(alert!.message);
    expect(raised, alert!.message).not.toBeNull();
    const raisedWith = { value: Number(raised![1]) / 100, samples: Number(raised![2]) };
    expect([{ value: 0.4, samples: 5 }, { value: 0.25, samples: 4 }, { value: 0.5, samples: 4 }]).toContainEqual(raisedWith);

    // The raise left through the outbox as analytics.alert-raised.
    await waitFor(async () => (await svc.busDb('bus_messages').where({ topic: 'analytics.events' })).length >= 1, 10_000);
    const published = ((await svc.busDb('bus_messages').where({ topic: 'analytics.events' })) as Parameters<typeof decodeEnvelope>[0][]).map(decodeEnvelope);
    expect(published.filter((e) => e.type === 'analytics.alert-raised' && (e.data as { ruleId: string }).ruleId === ruleId)).toHaveLength(1);
    expect(published[0]!.data).toMatchObject({ alertId: alert!.id, severity: 'critical', ...raisedWith });

    await orders(12, 0); // 2 / 17 < 20%
    await waitFor(async () => (await active(ruleId)).length === 0, 10_000);
    const history = (await svc.get(`/v1/alerts/history?ruleId=${ruleId}`, admin)).json.items as { state: string; resolveReason: string }[];
    expect(history).toMatchObject([{ state: 'resolved', resolveReason: 'recovered' }]);
    await waitFor(async () => (await svc.busDb('bus_messages').where({ topic: 'analytics.events' })).length >= 2, 10_000);
    // Exactly one raise and one resolution in the rule's stream, although the evaluator ran many times meanwhile.
    expect((await svc.store.readStream(alertStreamId(ruleId))).map((e) => e.type)).toEqual(['AlertRaised', 'AlertResolved']);
  });

  it('raises one stock alert per SKU below the threshold, re-raises on a rule change, and resolves on delete', async () => {
    const published = await svc.publish([
      message(StockLevelChanged, { sku: 'SKU-LOW1', onHand: 2, reserved: 0, available: 2, sold: 0, received: 2, cause: 'received', changedAt: now() }),
      message(StockLevelChanged, { sku: 'SKU-LOW2', onHand: 40, reserved: 0, available: 40, sold: 0, received: 40, cause: 'received', changedAt: now() }),
    ]);
    await svc.waitConsumed(published);
    await svc.projectionsCaughtUp();
    const created = await svc.request('POST', '/v1/alerts/rules', {
      token: admin,
      body: { name: 'Low stock', metric: 'stock_available', comparator: 'below', threshold: 5 },
    });
    const ruleId = created.json.id as string;
    await waitFor(async () => (await active(ruleId)).length === 1, 10_000);
    expect((await active(ruleId))[0]!.subject).toBe('SKU-LOW1');

    // A stale If-Match is refused; the right one replaces the rule (version 2).
    const body = { name: 'Low stock', metric: 'stock_available', comparator: 'below', threshold: 50 };
    expect((await svc.request('PUT', `/v1/alerts/rules/${ruleId}`, { token: admin, body, headers: { 'if-match': '"7"' } })).status).toBe(409);
    const replaced = await svc.request('PUT', `/v1/alerts/rules/${ruleId}`, { token: admin, body, headers: { 'if-match': '"1"' } });
    expect(replaced.status).toBe(200);
    expect(replaced.json.version).toBe(2);
    await waitFor(async () => (await active(ruleId)).length === 2, 10_000);
    const history = (await svc.get(`/v1/alerts/history?ruleId=${ruleId}`, admin)).json.items as { subject: string; state: string; resolveReason: string | null }[];
    expect(history.filter((a) => a.resolveReason === 'rule-changed').map((a) => a.subject)).toEqual(['SKU-LOW1']);

    expect((await svc.request('DELETE', `/v1/alerts/rules/${ruleId}`, { token: admin })).status).toBe(204);
    expect((await svc.get(`/v1/alerts/rules/${ruleId}`, admin)).status).toBe(404);
    await waitFor(async () => (await active(ruleId)).length === 0, 10_000);
    const after = (await svc.get(`/v1/alerts/history?ruleId=${ruleId}`, admin)).json.items as { resolveReason: string }[];
    expect(after.filter((a) => a.resolveReason === 'rule-deleted')).toHaveLength(2);
    expect((await svc.request('DELETE', `/v1/alerts/rules/${ruleId}`, { token: admin })).status).toBe(404);
  });

  it('raises an alert once although several evaluators run at the same time', async () => {
    const rules = new AlertRulesStore(svc.db);
    const rule = await rules.create(
      { name: 'Orders placed', metric: 'orders_placed', comparator: 'above', threshold: 0, windowMinutes: 60, minSamples: 0, severity: 'info', enabled: true },
      new Date(),
    );
    const evaluators = Array.from({ length: 4 }, () => new AlertEvaluator(svc.db, svc.store, rules, systemClock));
    for (let round = 0; round < 5; round++) await Promise.all(evaluators.map((e) => e.evaluateOnce()));
    await waitFor(async () => (await active(rule.id)).length === 1, 10_000);
    expect((await svc.store.readStream(alertStreamId(rule.id))).map((e) => e.type)).toEqual(['AlertRaised']);
    await rules.delete(rule.id, new Date());
  });

  it('serves saga duration percentiles and the compensation rate per bucket', async () => {
    const minute = '2026-05-01T10:20:00.000Z';
    const durations = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000];
    const published = await svc.publish(
      durations.map((ms, i) => {
        const orderId = randomUUID();
        const endedAt = new Date(Date.parse(minute) + 1_000 * (i + 1)).toISOString();
        return message(SagaEnded, {
          sagaId: `place-order-${orderId}`,
          sagaType: 'place-order',
          orderId,
          outcome: i < 7 ? 'completed' : 'rejected',
          compensations: i < 7 ? 0 : 1,
          startedAt: new Date(Date.parse(endedAt) - ms).toISOString(),
          endedAt,
          durationMs: ms,
        });
      }),
    );
    await svc.waitConsumed(published);
    await svc.projectionsCaughtUp();
    const res = await svc.get(`/v1/sagas/latency?from=${encodeURIComponent('2026-05-01T10:00:00Z')}&to=${encodeURIComponent('2026-05-01T11:00:00Z')}`, admin);
    expect(res.status).toBe(200);
    expect(res.json.points).toEqual([
      { at: minute, count: 10, p50Ms: 500, p95Ms: 1000, p99Ms: 1000, compensated: 3, compensationRate: 0.3 },
    ]);
    const cancel = await svc.get(`/v1/sagas/latency?sagaType=cancel-order&from=${encodeURIComponent('2026-05-01T10:00:00Z')}&to=${encodeURIComponent('2026-05-01T11:00:00Z')}`, admin);
    expect(cancel.json.points).toEqual([]);
    expect((await svc.get('/v1/sagas/latency?sagaType=nope&from=2026-05-01T10:00:00Z&to=2026-05-01T11:00:00Z', admin)).status).toBe(400);
  });
});
