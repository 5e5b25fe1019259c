import { randomUUID } from 'node:crypto';
import { waitFor, type ServiceUnderTest } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSku, startInventoryForTest } from './support';

describe('inventory HTTP API', () => {
  let running: ServiceUnderTest;
  let admin: string;
  let customer: string;

  beforeAll(async () => {
    running = await startInventoryForTest('inventory_http');
    [admin, customer] = await Promise.all([running.token('admin'), running.token('customer')]);
  });
  afterAll(async () => {
    await running?.stop();
  });

  const call = async (method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await running.request(method, path, options);
    return { status: res.status, type: res.headers.get('content-type'), body: res.json as Record<string, unknown> | undefined };
  };
  const receive = (sku: string, quantity: unknown, token = admin, key: string = randomUUID()) =>
    call('POST', `/v1/stock/${sku}/receipts`, { token, body: { quantity }, headers: { 'idempotency-key': key } });
  const adjust = (sku: string, delta: unknown, reason: unknown = 'stock count', token = admin) =>
    call('POST', `/v1/stock/${sku}/adjustments`, { token, body: { delta, reason } });

  describe('receipts', () => {
    it('adds received stock and answers with the levels after it', async () => {
      const sku = freshSku();
      expect(await receive(sku, 7)).toMatchObject({ status: 200, body: { sku, onHand: 7, reserved: 0, available: 7, sold: 0, received: 7 } });
      expect((await receive(sku, 3)).body).toMatchObject({ onHand: 10, received: 10 });
    });
    it('counts a receipt once per Idempotency-Key: retries, concurrent repeats and a repeat after the HTTP record expired', async () => {
      const sku = freshSku();
      const key = `delivery-note-${randomUUID()}`;
      const first = await Promise.all(Array.from({ length: 8 }, () => receive(sku, 5, admin, key)));
      for (const res of first) expect(res).toMatchObject({ status: 200, body: { received: 5, onHand: 5 } });
      expect(await receive(sku, 5, admin, key)).toMatchObject({ status: 200, body: { received: 5 } });
      // The same key for another quantity is another request: refused, nothing counted.
      expect((await receive(sku, 6, admin, key)).status).toBe(422);
      // Once the HTTP record is gone (purged on its schedule), the stream still knows the receipt.
      await running.db.raw('delete from http_idempotency');
      expect(await receive(sku, 5, admin, key)).toMatchObject({ status: 200, body: { received: 5, onHand: 5 } });
      await running.db.raw('delete from http_idempotency');
      expect((await receive(sku, 6, admin, key)).status).toBe(409);
      // Another key is another receipt, also when another admin sends the first one's key.
      expect((await receive(sku, 2)).body).toMatchObject({ received: 7 });
      expect((await receive(sku, 5, await running.token('admin', 'admin-2'), key)).body).toMatchObject({ received: 7 });
      expect((await call('GET', `/v1/stock/${sku}`)).body).toMatchObject({ received: 7, onHand: 7 });
      expect(await running.store.readStream(`stock-${sku}`)).toHaveLength(2);
    });
    it('requires an Idempotency-Key (400 naming the header), counting nothing without one', async () => {
      const sku = freshSku();
      const res = await call('POST', `/v1/stock/${sku}/receipts`, { token: admin, body: { quantity: 1 } });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('Idempotency-Key');
      expect((await call('GET', `/v1/stock/${sku}`)).body).toMatchObject({ received: 0 });
    });
    it('refuses a quantity that is not a positive integer with a 400 problem', async () => {
      const sku = freshSku();
      for (const quantity of [0, -1, 1.5, '3']) {
        const res = await receive(sku, quantity);
        expect(res.status).toBe(400);
        expect(res.type).toContain('application/problem+json');
      }
      expect((await call('GET', `/v1/stock/${sku}`)).body).toMatchObject({ onHand: 0 });
    });
    it('refuses an invalid SKU with a 400', async () => {
      expect((await receive('not a sku', 1)).status).toBe(400);
    });
    it('requires a token (401) with the admin role (403)', async () => {
      const sku = freshSku();
      const anonymous = await call('POST', `/v1/stock/${sku}/receipts`, { body: { quantity: 1 } });
      expect(anonymous.status).toBe(401);
      expect((await receive(sku, 1, 'not-a-token')).status).toBe(401);
      expect((await receive(sku, 1, customer)).status).toBe(403);
      expect((await call('GET', `/v1/stock/${sku}`)).body).toMatchObject({ onHand: 0, received: 0 });
    });
  });

  describe('adjustments', () => {
    it('adjusts the stock on hand both ways', async () => {
      const sku = freshSku();
      await receive(sku, 10);
      expect((await adjust(sku, -4, 'damaged')).body).toMatchObject({ onHand: 6, available: 6, received: 10 });
      expect((await adjust(sku, 1, 'found')).body).toMatchObject({ onHand: 7, available: 7 });
    });
    it('answers 409 when the stock on hand would fall below zero, and changes nothing', async () => {
      const sku = freshSku();
      await receive(sku, 2);
      const res = await adjust(sku, -3);
      expect(res.status).toBe(409);
      expect(res.type).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 409, type: 'urn:shop:problem:conflict' });
      expect((await call('GET', `/v1/stock/${sku}`)).body).toMatchObject({ onHand: 2, available: 2 });
    });
    it('refuses a zero delta or a missing reason with a 400', async () => {
      const sku = freshSku();
      expect((await adjust(sku, 0)).status).toBe(400);
      expect((await adjust(sku, -1, '')).status).toBe(400);
    });
    it('requires the admin role', async () => {
      const sku = freshSku();
      expect((await call('POST', `/v1/stock/${sku}/adjustments`, { body: { delta: 1, reason: 'x' } })).status).toBe(401);
      expect((await adjust(sku, 1, 'x', customer)).status).toBe(403);
    });
  });

  describe('availability', () => {
    it('reads one SKU from its stream, publicly; an unknown SKU reads as zeros', async () => {
      const sku = freshSku();
      await receive(sku, 5);
      expect(await call('GET', `/v1/stock/${sku}`)).toMatchObject({ status: 200, body: { sku, onHand: 5, reserved: 0, available: 5 } });
      const unknown = freshSku();
      expect((await call('GET', `/v1/stock/${unknown}`)).body).toEqual({ sku: unknown, onHand: 0, reserved: 0, available: 0, sold: 0, received: 0 });
    });
    it('lists several SKUs from the read model, in the order asked', async () => {
      const [a, b, unknown] = [freshSku(), freshSku(), freshSku()];
      await receive(a, 4);
      await receive(b, 9);
      await adjust(b, -2);
      const path = `/v1/stock?skus=${b},${unknown},${a}`;
      await waitFor(async () => ((await call('GET', path)).body?.items as { onHand: number }[])[0]!.onHand === 7);
      expect((await call('GET', path)).body).toEqual({
        items: [
          { sku: b, onHand: 7, reserved: 0, available: 7 },
          { sku: unknown, onHand: 0, reserved: 0, available: 0 },
          { sku: a, onHand: 4, reserved: 0, available: 4 },
        ],
      });
    });
    it('refuses a missing or invalid SKU list with a 400', async () => {
      expect((await call('GET', '/v1/stock')).status).toBe(400);
      expect((await call('GET', '/v1/stock?skus=ok-sku,bad sku')).status).toBe(400);
    });
  });

  it('serves its OpenAPI document, liveness and readiness', async () => {
    const doc = await call('GET', '/v1/openapi.json');
    expect(doc.body).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
    expect(Object.keys(doc.body!.paths as object)).toEqual(
      expect.arrayContaining(['/v1/stock/{sku}/receipts', '/v1/stock/{sku}/adjustments', '/v1/stock/{sku}', '/v1/stock']),
    );
    expect((await call('GET', '/healthz')).status).toBe(200);
    await waitFor(async () => (await call('GET', '/readyz')).status === 200);
  });
});
