import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrderService, customer, validOrder } from './support';

describe('order-service HTTP API', () => {
  let svc: TestOrderService;
  let ann: string;
  let annToken: string;
  let bobToken: string;
  let adminToken: string;

  beforeAll(async () => {
    svc = await TestOrderService.start('order_http');
    ann = customer('ann');
    annToken = await svc.token(ann, 'customer');
    bobToken = await svc.token(customer('bob'), 'customer');
    adminToken = await svc.token('admin-zoe', 'admin');
  });
  afterAll(async () => {
    await svc?.stop();
  });

  describe('POST /v1/orders', () => {
    it('places a pending order: 202, Location, and OrderPlaced in the order’s stream', async () => {
      const res = await svc.placeOrder(annToken);
      expect(res.status).toBe(202);
      expect(res.json).toMatchObject({ status: 'pending', customerId: ann, lines: validOrder().lines, paymentStatus: 'none' });
      expect(res.json.orderId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('location')).toBe(`/v1/orders/${res.json.orderId}`);
      const stream = await svc.streamOf(res.json.orderId);
      expect(stream.map((e) => e.type)).toEqual(['OrderPlaced']);
      // No channel in the request: a client of the API directly.
      expect(stream[0]!.data).toMatchObject({ customerId: ann, paymentToken: 'tok_approve', lines: validOrder().lines, channel: 'api' });
    });

    it('publishes order.placed v2 with the customer and the channel, through the outbox', async () => {
      const { json } = await svc.placeOrder(annToken);
      const message = await svc.waitForPublished(json.orderId, 'order.placed');
      expect(message.data).toEqual({ orderId: json.orderId, customerId: ann, lines: validOrder().lines, placedAt: json.placedAt, channel: 'api' });
      expect(message.schemaversion).toBe(2);
      expect(message.source).toBe('order-service');
      expect(message.correlationid).toBe(json.orderId);
    });

    it('records the channel the order was placed through, and publishes it', async () => {
      const { status, json } = await svc.placeOrder(annToken, { ...validOrder(), channel: 'mobile' });
      expect(status).toBe(202);
      expect((await svc.streamOf(json.orderId))[0]!.data).toMatchObject({ channel: 'mobile' });
      expect((await svc.waitForPublished(json.orderId, 'order.placed')).data).toMatchObject({ channel: 'mobile' });
    });

    it('never shows the payment token', async () => {
      const res = await svc.placeOrder(annToken, validOrder('tok_ok_secret'));
      expect(res.text).not.toContain('tok_ok_secret');
    });

    it('creates exactly one order for the same Idempotency-Key sent 10 times at once, and answers all 10 alike', async () => {
      const someone = customer('concurrent');
      const token = await svc.token(someone, 'customer');
      const key = randomUUID();
      const responses = await Promise.all(Array.from({ length: 10 }, () => svc.placeOrder(token, validOrder(), key)));
      const first = responses[0]!;
      expect(first.status).toBe(202);
      for (const res of responses) {
        expect(res.status).toBe(first.status);
        expect(res.text).toBe(first.text);
        expect(res.headers.get('location')).toBe(first.headers.get('location'));
      }
      const placed = (await svc.db('es_events').where({ type: 'OrderPlaced' }).whereRaw("data->>'customerId' = ?", [someone]).select('stream_id')) as {
        stream_id: string;
      }[];
      expect(placed).toEqual([{ stream_id: `order-${first.json.orderId}` }]);
      await svc.readModelCaughtUp();
      expect(await svc.db('orders').where({ customer_id: someone }).select('order_id')).toEqual([{ order_id: first.json.orderId }]);
    });

    it('replays the first response for a retry with the same key and body', async () => {
      const key = randomUUID();
      const first = await svc.placeOrder(annToken, validOrder(), key);
      const retry = await svc.placeOrder(annToken, validOrder(), key);
      expect(retry.status).toBe(202);
      expect(retry.text).toBe(first.text);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
    });

    it('refuses the same key with a different body (422)', async () => {
      const key = randomUUID();
      await svc.placeOrder(annToken, validOrder(), key);
      const res = await svc.placeOrder(annToken, validOrder('tok_decline'), key);
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    });

    it('requires an Idempotency-Key (400)', async () => {
      const res = await svc.request('POST', '/v1/orders', { token: annToken, body: validOrder() });
      expect(res.status).toBe(400);
      expect(res.json.errors).toEqual([expect.objectContaining({ path: 'headers["idempotency-key"]' })]);
    });

    const invalid: [string, unknown, string][] = [
      ['empty lines', { lines: [], paymentToken: 'tok_approve' }, 'body.lines'],
      ['a bad SKU', { lines: [{ sku: 'not a sku', quantity: 1 }], paymentToken: 'tok_approve' }, 'body.lines[0].sku'],
      ['quantity 0', { lines: [{ sku: 'SKU-1', quantity: 0 }], paymentToken: 'tok_approve' }, 'body.lines[0].quantity'],
      ['no payment token', { lines: [{ sku: 'SKU-1', quantity: 1 }] }, 'body.paymentToken'],
      ['101 lines', { lines: Array.from({ length: 101 }, () => ({ sku: 'SKU-1', quantity: 1 })), paymentToken: 'tok_approve' }, 'body.lines'],
      ['an unknown channel', { ...validOrder(), channel: 'fax' }, 'body.channel'],
    ];
    for (const [what, body, path] of invalid) {
      it(`answers ${what} with 400 and the failing field`, async () => {
        const res = await svc.placeOrder(annToken, body);
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.json.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      });
    }

    it('answers a request without a token with 401', async () => {
      const res = await svc.request('POST', '/v1/orders', { body: validOrder(), headers: { 'idempotency-key': randomUUID() } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    });

    it('answers an admin with 403: placing orders is for customers', async () => {
      const res = await svc.placeOrder(adminToken);
      expect(res.status).toBe(403);
    });
  });

  describe('GET /v1/orders/{id}', () => {
    it('shows the customer their order with its status history', async () => {
      const { json: placed } = await svc.placeOrder(annToken);
      const res = await svc.request('GET', `/v1/orders/${placed.orderId}`, { token: annToken });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        orderId: placed.orderId,
        customerId: ann,
        status: 'pending',
        total: null,
        statusHistory: [{ status: 'pending', at: placed.placedAt }],
      });
    });

    it('answers 404, not 403, for another customer’s order', async () => {
      const { json: placed } = await svc.placeOrder(annToken);
      const res = await svc.request('GET', `/v1/orders/${placed.orderId}`, { token: bobToken });
      expect(res.status).toBe(404);
    });

    it('shows any order to an admin', async () => {
      const { json: placed } = await svc.placeOrder(annToken);
      const res = await svc.request('GET', `/v1/orders/${placed.orderId}`, { token: adminToken });
      expect(res.status).toBe(200);
      expect(res.json.customerId).toBe(ann);
    });

    it('answers 404 for an order that does not exist and 400 for an id that is not a UUID', async () => {
      expect((await svc.request('GET', `/v1/orders/${randomUUID()}`, { token: annToken })).status).toBe(404);
      expect((await svc.request('GET', '/v1/orders/42', { token: annToken })).status).toBe(400);
    });

    it('answers 401 without a token', async () => {
      expect((await svc.request('GET', `/v1/orders/${randomUUID()}`)).status).toBe(401);
    });
  });

  describe('GET /v1/orders', () => {
    let carl: string;
    let carlToken: string;
    let dora: string;
    let doraToken: string;
    const carlOrders: string[] = [];
    let doraOrder: string;

    beforeAll(async () => {
      carl = customer('carl');
      dora = customer('dora');
      carlToken = await svc.token(carl, 'customer');
      doraToken = await svc.token(dora, 'customer');
      for (let i = 0; i < 3; i++) carlOrders.push((await svc.placeOrder(carlToken)).json.orderId);
      doraOrder = (await svc.placeOrder(doraToken)).json.orderId;
      await svc.request('POST', `/v1/orders/${carlOrders[0]}/cancel`, { token: carlToken });
      await svc.readModelCaughtUp();
    });

    it('lists a customer’s own orders only, newest first, each with its status history', async () => {
      const res = await svc.request('GET', '/v1/orders', { token: carlToken });
      expect(res.status).toBe(200);
      expect(res.json.items.map((o: { orderId: string }) => o.orderId)).toEqual([...carlOrders].reverse());
      expect(res.json.nextCursor).toBeNull();
      const cancelledOne = res.json.items.find((o: { orderId: string }) => o.orderId === carlOrders[0]);
      expect(cancelledOne.status).toBe('cancellation-requested');
      expect(cancelledOne.statusHistory.map((h: { status: string }) => h.status)).toEqual(['pending', 'cancellation-requested']);
    });

    it('never lists another customer’s orders, even when asked for them', async () => {
      const res = await svc.request('GET', `/v1/orders?customerId=${encodeURIComponent(carl)}`, { token: doraToken });
      expect(res.json.items.map((o: { orderId: string }) => o.orderId)).toEqual([doraOrder]);
    });

    it('filters by status', async () => {
      const res = await svc.request('GET', '/v1/orders?status=pending', { token: carlToken });
      expect(res.json.items.map((o: { orderId: string }) => o.orderId)).toEqual([carlOrders[2], carlOrders[1]]);
    });

    it('pages with a cursor', async () => {
      const first = await svc.request('GET', '/v1/orders?limit=2', { token: carlToken });
      expect(first.json.items.map((o: { orderId: string }) => o.orderId)).toEqual([carlOrders[2], carlOrders[1]]);
      expect(first.json.nextCursor).toEqual(expect.any(String));
      const second = await svc.request('GET', `/v1/orders?limit=2&cursor=${first.json.nextCursor}`, { token: carlToken });
      expect(second.json.items.map((o: { orderId: string }) => o.orderId)).toEqual([carlOrders[0]]);
      expect(second.json.nextCursor).toBeNull();
    });

    it('refuses a cursor it did not issue and a limit over 100', async () => {
      expect((await svc.request('GET', '/v1/orders?cursor=bogus', { token: carlToken })).status).toBe(400);
      expect((await svc.request('GET', '/v1/orders?limit=101', { token: carlToken })).status).toBe(400);
    });

    it('lists every customer’s orders to an admin, and one customer’s on request', async () => {
      const all = await svc.request('GET', '/v1/orders?limit=100', { token: adminToken });
      const ids = all.json.items.map((o: { orderId: string }) => o.orderId);
      expect(ids).toEqual(expect.arrayContaining([...carlOrders, doraOrder]));
      const doras = await svc.request('GET', `/v1/orders?customerId=${encodeURIComponent(dora)}`, { token: adminToken });
      expect(doras.json.items.map((o: { orderId: string }) => o.orderId)).toEqual([doraOrder]);
    });
  });

  describe('POST /v1/orders/{id}/cancel', () => {
    it('records the owner’s request (202), then refuses a second one (409)', async () => {
      const { json: placed } = await svc.placeOrder(annToken);
      const first = await svc.request('POST', `/v1/orders/${placed.orderId}/cancel`, { token: annToken, body: { reason: 'changed my mind' } });
      expect(first.status).toBe(202);
      expect(first.json.status).toBe('cancellation-requested');
      expect(first.json.statusHistory).toEqual([
        { status: 'pending', at: placed.placedAt },
        { status: 'cancellation-requested', at: expect.any(String), reason: 'changed my mind' },
      ]);
      const second = await svc.request('POST', `/v1/orders/${placed.orderId}/cancel`, { token: annToken });
      expect(second.status).toBe(409);
      expect(second.json.type).toBe('urn:shop:problem:conflict');
      const stream = await svc.streamOf(placed.orderId);
      expect(stream.map((e) => e.type)).toEqual(['OrderPlaced', 'OrderCancellationRequested']);
      const message = await svc.waitForPublished(placed.orderId, 'order.cancellation-requested');
      expect(message.data).toMatchObject({ orderId: placed.orderId, customerId: ann, reason: 'changed my mind' });
    });

    it('lets an admin ask to cancel any order', async () => {
      const { json: placed } = await svc.placeOrder(annToken);
      const res = await svc.request('POST', `/v1/orders/${placed.orderId}/cancel`, { token: adminToken });
      expect(res.status).toBe(202);
      expect((await svc.streamOf(placed.orderId)).at(-1)!.data).toMatchObject({ requestedBy: 'admin-zoe' });
    });

    it('answers 404 to another customer and records nothing', async () => {
      const { json: placed } = await svc.placeOrder(annToken);
      const res = await svc.request('POST', `/v1/orders/${placed.orderId}/cancel`, { token: bobToken });
      expect(res.status).toBe(404);
      expect((await svc.streamOf(placed.orderId)).map((e) => e.type)).toEqual(['OrderPlaced']);
    });
  });

  describe('service edges', () => {
    it('is ready with its database, bus and consumer', async () => {
      const res = await svc.request('GET', '/readyz');
      expect(res.status).toBe(200);
    });

    it('serves its OpenAPI document with the order routes', async () => {
      const res = await svc.request('GET', '/v1/openapi.json');
      expect(res.status).toBe(200);
      expect(Object.keys(res.json.paths)).toEqual(
        expect.arrayContaining(['/v1/orders', '/v1/orders/{id}', '/v1/orders/{id}/cancel']),
      );
    });
  });
});
