import { randomUUID } from 'node:crypto';
import { AuthorizePayment, CancelOrder, ConfirmOrder, OrderPlaced, RejectOrder, VoidPayment, buildMessage } from '@shop/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrderService, customer, eur, orderTotal, pricedLines, validOrder } from './support';

const paymentReplies = ['order.payment-authorized', 'order.payment-declined'];

describe('order-service commands on order.commands', () => {
  let svc: TestOrderService;
  let token: string;
  let adminToken: string;

  beforeAll(async () => {
    svc = await TestOrderService.start('order_cmds');
    token = await svc.token(customer('erin'), 'customer');
    adminToken = await svc.token('admin-zoe', 'admin');
  });
  afterAll(async () => {
    await svc?.stop();
  });

  const place = async (paymentToken = 'tok_approve'): Promise<string> => {
    const res = await svc.placeOrder(token, validOrder(paymentToken));
    expect(res.status).toBe(202);
    return res.json.orderId as string;
  };
  const typesIn = async (orderId: string) => (await svc.streamOf(orderId)).map((e) => e.type);
  const statusOf = async (orderId: string) => (await svc.request('GET', `/v1/orders/${orderId}`, { token })).json;

  describe('AuthorizePayment', () => {
    it('authorizes tok_approve and replies order.payment-authorized on order.events', async () => {
      const orderId = await place('tok_approve');
      await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      const reply = await svc.waitForPublished(orderId, 'order.payment-authorized');
      expect(reply.data).toEqual({ orderId, authorizationId: expect.stringMatching(/^sbx_auth_/), amount: orderTotal });
      expect(await typesIn(orderId)).toEqual(['OrderPlaced', 'PaymentAuthorized']);
      expect((await statusOf(orderId)).paymentStatus).toBe('authorized');
    });

    it('carries the command’s correlation and causation into the reply', async () => {
      const orderId = await place('tok_ok_visa');
      const commandId = randomUUID();
      await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal }, commandId);
      const reply = await svc.waitForPublished(orderId, 'order.payment-authorized');
      expect(reply.causationid).toBe(commandId);
      expect(reply.correlationid).toBe(`saga-${orderId}`);
    });

    it('declines tok_decline with a readable reason and replies order.payment-declined', async () => {
      const orderId = await place('tok_decline');
      await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      const reply = await svc.waitForPublished(orderId, 'order.payment-declined');
      expect(reply.data).toEqual({ orderId, reason: expect.stringContaining('declined') });
      expect(await typesIn(orderId)).toEqual(['OrderPlaced', 'PaymentDeclined']);
    });

    it('records PaymentAuthorizationTimedOut for tok_no_answer and sends no reply', async () => {
      const orderId = await place('tok_no_answer');
      const command = await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      await svc.waitHandled(command);
      const stream = await svc.streamOf(orderId);
      expect(stream.map((e) => e.type)).toEqual(['OrderPlaced', 'PaymentAuthorizationTimedOut']);
      // Once the relay has gone past the timeout event, its absence on the bus is final.
      await svc.relayCaughtUp();
      const published = (await svc.eventsPublishedFor(orderId)).map((e) => e.type);
      expect(published).toEqual(['order.placed']);
      expect((await statusOf(orderId)).paymentStatus).toBe('timed-out');
    });

    it('has one effect when one command is delivered 3 times', async () => {
      const orderId = await place('tok_approve');
      const id = randomUUID();
      const deliveries = [];
      for (let i = 0; i < 3; i++) deliveries.push(await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal }, id));
      for (const d of deliveries) await svc.waitHandled(d);
      await svc.relayCaughtUp();
      expect(await typesIn(orderId)).toEqual(['OrderPlaced', 'PaymentAuthorized']);
      const replies = (await svc.eventsPublishedFor(orderId)).filter((e) => paymentReplies.includes(e.type));
      expect(replies).toHaveLength(1);
    });

    it('has one effect when the coordinator sends the command again under a new id', async () => {
      const orderId = await place('tok_approve');
      const first = await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      const again = await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      await svc.waitHandled(first);
      await svc.waitHandled(again);
      await svc.relayCaughtUp();
      expect(await typesIn(orderId)).toEqual(['OrderPlaced', 'PaymentAuthorized']);
      expect((await svc.eventsPublishedFor(orderId)).filter((e) => paymentReplies.includes(e.type))).toHaveLength(1);
    });

    it('changes nothing when a handled command is redelivered after its inbox record was lost (crash before the record)', async () => {
      const orderId = await place('tok_approve');
      const id = randomUUID();
      await svc.waitHandled(await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal }, id));
      await svc.db('inbox_messages').where({ consumer: 'order-service', message_id: id }).delete();
      await svc.waitHandled(await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal }, id));
      expect(await typesIn(orderId)).toEqual(['OrderPlaced', 'PaymentAuthorized']);
      expect(await svc.db('inbox_messages').where({ consumer: 'order-service', message_id: id })).toHaveLength(1);
    });

    it('dead-letters a command for an order that does not exist, with the reason', async () => {
      const orderId = randomUUID();
      const command = await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      await svc.waitHandled(command);
      const dead = (await svc.busDb('bus_messages').where({ topic: 'order-service.dead-letter', key: orderId }).select('headers')) as {
        headers: Record<string, string>;
      }[];
      expect(dead).toHaveLength(1);
      expect(dead[0]!.headers['dlq-error']).toContain(`order ${orderId} does not exist`);
      expect(await svc.streamOf(orderId)).toEqual([]);
    });

    it('dead-letters a contract message that is not an order command, and one that is not an envelope', async () => {
      const orderId = randomUUID();
      const fact = buildMessage(
        OrderPlaced,
        { orderId, customerId: 'someone', lines: validOrder().lines, placedAt: new Date().toISOString(), channel: 'api' },
        { id: randomUUID(), source: 'coordinator-service', correlationId: orderId },
      );
      const garbage = { topic: 'order.commands', key: orderId, value: '{}', headers: { 'content-type': 'application/json' } };
      const published = await svc.bus.publish([{ ...fact, topic: 'order.commands' }, garbage]);
      for (const p of published) await svc.waitHandled(p);
      const dead = (await svc.busDb('bus_messages')
        .where({ topic: 'order-service.dead-letter', key: orderId })
        .orderBy('offset')
        .select('headers')) as { headers: Record<string, string> }[];
      expect(dead.map((d) => d.headers['dlq-error'])).toEqual([
        expect.stringContaining('order.placed is not a command the order service handles'),
        expect.stringContaining('not a valid envelope'),
      ]);
      expect(await svc.streamOf(orderId)).toEqual([]);
    });
  });

  describe('VoidPayment', () => {
    it('voids the authorization and replies order.payment-voided with its id', async () => {
      const orderId = await place('tok_approve');
      await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      const authorized = await svc.waitForPublished(orderId, 'order.payment-authorized');
      await svc.sendCommand(VoidPayment, { orderId });
      const reply = await svc.waitForPublished(orderId, 'order.payment-voided');
      expect(reply.data).toEqual({ orderId, authorizationId: (authorized.data as { authorizationId: string }).authorizationId });
    });

    it('replies order.payment-voided without an id when nothing was authorized', async () => {
      const orderId = await place('tok_no_answer');
      await svc.waitHandled(await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal }));
      await svc.sendCommand(VoidPayment, { orderId });
      const reply = await svc.waitForPublished(orderId, 'order.payment-voided');
      expect(reply.data).toEqual({ orderId });
    });
  });

  describe('ConfirmOrder and RejectOrder', () => {
    it('confirms an authorized order: the API shows it confirmed, priced, with its history', async () => {
      const orderId = await place('tok_approve');
      await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      await svc.waitForPublished(orderId, 'order.payment-authorized');
      await svc.sendCommand(ConfirmOrder, { orderId, lines: pricedLines, total: orderTotal });
      const message = await svc.waitForPublished(orderId, 'order.confirmed');
      expect(message.data).toMatchObject({ orderId, lines: pricedLines, total: orderTotal });
      const order = await statusOf(orderId);
      expect(order).toMatchObject({ status: 'confirmed', total: orderTotal, pricedLines, paymentStatus: 'authorized' });
      expect(order.statusHistory.map((h: { status: string }) => h.status)).toEqual(['pending', 'confirmed']);
      await svc.readModelCaughtUp();
      const listed = await svc.request('GET', '/v1/orders?status=confirmed', { token });
      expect(listed.json.items.map((o: { orderId: string }) => o.orderId)).toContain(orderId);
    });

    it('rejects a pending order: the API shows it rejected with the reason', async () => {
      const orderId = await place('tok_decline');
      await svc.sendCommand(RejectOrder, { orderId, reason: 'payment declined' });
      const message = await svc.waitForPublished(orderId, 'order.rejected');
      expect(message.data).toMatchObject({ orderId, reason: 'payment declined' });
      const order = await statusOf(orderId);
      expect(order.status).toBe('rejected');
      expect(order.statusHistory.at(-1)).toMatchObject({ status: 'rejected', reason: 'payment declined' });
    });

    it('refuses (dead-letters) rejecting a confirmed order, which stays confirmed', async () => {
      const orderId = await place('tok_approve');
      await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      await svc.sendCommand(ConfirmOrder, { orderId, lines: pricedLines, total: orderTotal });
      await svc.waitForPublished(orderId, 'order.confirmed');
      await svc.waitHandled(await svc.sendCommand(RejectOrder, { orderId, reason: 'too late' }));
      expect((await statusOf(orderId)).status).toBe('confirmed');
      const dead = await svc.busDb('bus_messages').where({ topic: 'order-service.dead-letter', key: orderId });
      expect(dead).toHaveLength(1);
    });

    it('refuses (dead-letters) confirming when the total is not the authorized amount', async () => {
      const orderId = await place('tok_approve');
      await svc.sendCommand(AuthorizePayment, { orderId, amount: orderTotal });
      await svc.waitHandled(await svc.sendCommand(ConfirmOrder, { orderId, lines: pricedLines, total: eur(1) }));
      expect((await statusOf(orderId)).status).toBe('pending');
    });
  });

  describe('CancelOrder', () => {
    it('cancels an order whose cancellation was requested; the API shows the whole history', async () => {
      const orderId = await place('tok_approve');
      expect((await svc.request('POST', `/v1/orders/${orderId}/cancel`, { token: adminToken })).status).toBe(202);
      await svc.sendCommand(CancelOrder, { orderId, reason: 'customer asked' });
      const message = await svc.waitForPublished(orderId, 'order.cancelled');
      expect(message.data).toMatchObject({ orderId, reason: 'customer asked' });
      const order = await statusOf(orderId);
      expect(order.statusHistory.map((h: { status: string }) => h.status)).toEqual(['pending', 'cancellation-requested', 'cancelled']);
      const again = await svc.request('POST', `/v1/orders/${orderId}/cancel`, { token });
      expect(again.status).toBe(409);
    });
  });
});
