import {
  AuthorizePayment,
  CancelOrder,
  ConfirmOrder,
  RejectOrder,
  VoidPayment,
  type MessageData,
  type MessageDefinition,
} from '@shop/contracts';
import type { ConsumedMessage, MessageProcessor } from '@shop/platform';
import { clearConsumerPacts, handleOnce } from '@shop/platform/testing/pacts';
import { expectContractMessage } from '@shop/contracts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrderService, commandMessage, customer, eur, orderProcess } from './support';

const CONSUMER = 'order-service';
// One line: a pact holds an array's first element only, so the message Pact hands back has one line.
const pricedLines = [{ sku: 'SKU-1', quantity: 2, unitPrice: eur(1000), lineTotal: eur(2000) }];
const orderTotal = eur(2000);

/**
 * The commands the order service consumes, as pacts with their producer
 * (the coordinator): each example goes through the service's real message
 * path (decode, inbox, handler, commit) on a real database, on an order
 * brought first to the state the command finds it in, and must be handled,
 * not ignored or rejected.
 */
describe('order-service as a consumer (Pact)', () => {
  let svc: TestOrderService;
  let processor: MessageProcessor;
  let token: string;

  beforeAll(async () => {
    clearConsumerPacts(CONSUMER);
    svc = await TestOrderService.start('order_pacts');
    ({ processor } = orderProcess(svc));
    token = await svc.token(customer('pact'), 'customer');
  });
  afterAll(async () => {
    await svc?.stop();
  });

  const handledOnce = (message: ConsumedMessage) => handleOnce(processor, message);
  const expect_ = <D extends MessageDefinition>(definition: D, state: string, data: MessageData<D>, handle: (m: ConsumedMessage) => Promise<void>) =>
    expectContractMessage(CONSUMER, { definition, state, data, handle });
  const typesIn = async (orderId: string) => (await svc.streamOf(orderId)).map((e) => e.type);
  const lastEventOf = async (orderId: string) => (await svc.streamOf(orderId)).at(-1)!;

  /** The order's state before the command: placed over HTTP, then taken on by earlier commands through the same message path. */
  const given = {
    placed: async (paymentToken = 'tok_approve') => {
      const res = await svc.placeOrder(token, { lines: [{ sku: 'SKU-1', quantity: 2 }], paymentToken });
      expect(res.status).toBe(202);
      return res.json.orderId as string;
    },
    authorized: async () => {
      const orderId = await given.placed();
      await processor.handle(commandMessage(AuthorizePayment, { orderId, amount: orderTotal }));
      return orderId;
    },
    declined: async () => {
      const orderId = await given.placed('tok_decline');
      await processor.handle(commandMessage(AuthorizePayment, { orderId, amount: orderTotal }));
      expect(await typesIn(orderId)).toEqual(['OrderPlaced', 'PaymentDeclined']);
      return orderId;
    },
    confirmedThenCancelling: async () => {
      const orderId = await given.authorized();
      await processor.handle(commandMessage(ConfirmOrder, { orderId, lines: pricedLines, total: orderTotal }));
      expect((await svc.request('POST', `/v1/orders/${orderId}/cancel`, { token, body: { reason: 'changed my mind' } })).status).toBe(202);
      expect(await typesIn(orderId)).toEqual(['OrderPlaced', 'PaymentAuthorized', 'OrderConfirmed', 'OrderCancellationRequested']);
      return orderId;
    },
    undone: async () => {
      const orderId = await given.confirmedThenCancelling();
      await processor.handle(commandMessage(VoidPayment, { orderId }));
      expect((await lastEventOf(orderId)).type).toBe('PaymentVoided');
      return orderId;
    },
  };

  it('order.authorize-payment: authorizes the amount on the order’s payment token', async () => {
    const orderId = await given.placed();
    await expect_(AuthorizePayment, 'a place-order saga whose stock is reserved', { orderId, amount: orderTotal }, async (m) => {
      await handledOnce(m);
      expect(await lastEventOf(orderId)).toMatchObject({ type: 'PaymentAuthorized', data: { amount: orderTotal } });
    });
  });

  it('order.void-payment: voids the authorization of the order being cancelled', async () => {
    const orderId = await given.confirmedThenCancelling();
    await expect_(VoidPayment, 'a cancel-order saga for a confirmed order', { orderId }, async (m) => {
      await handledOnce(m);
      expect(await lastEventOf(orderId)).toMatchObject({ type: 'PaymentVoided', data: { authorizationId: expect.stringMatching(/^sbx_auth_/) } });
    });
  });

  it('order.confirm-order: confirms the order at the priced lines', async () => {
    const orderId = await given.authorized();
    await expect_(ConfirmOrder, 'a place-order saga whose payment is authorized', { orderId, lines: pricedLines, total: orderTotal }, async (m) => {
      await handledOnce(m);
      expect(await lastEventOf(orderId)).toMatchObject({ type: 'OrderConfirmed', data: { total: orderTotal } });
    });
  });

  it('order.reject-order: rejects the order with the reason', async () => {
    const orderId = await given.declined();
    const reason = 'the payment was declined';
    await expect_(RejectOrder, 'a place-order saga compensating after a declined payment', { orderId, reason }, async (m) => {
      await handledOnce(m);
      expect(await lastEventOf(orderId)).toMatchObject({ type: 'OrderRejected', data: { reason } });
    });
  });

  it('order.cancel-order: marks the order cancelled', async () => {
    const orderId = await given.undone();
    const reason = 'changed my mind';
    await expect_(CancelOrder, 'a cancel-order saga whose payment and stock are undone', { orderId, reason }, async (m) => {
      await handledOnce(m);
      expect(await lastEventOf(orderId)).toMatchObject({ type: 'OrderCancelled', data: { reason } });
    });
  });
});
