import type { Knex } from 'knex';
import { deterministicId, executeCommand, NotFoundError, type Clock, type EventMetadata, type EventStore } from '@shop/platform';
import { authorizeWithTimeout } from '../payments/authorize-with-timeout';
import type { PaymentProvider } from '../payments/payment-provider';
import {
  authorizationToVoid,
  decide,
  paymentToAuthorize,
  type OrderCommand,
  type PaymentAnswer,
} from './decide';
import { orderDecider, orderStreamId, type Money, type Order, type OrderEvent, type OrderLine, type PricedLine } from './order';
import { orderViewFrom, type OrderView } from './read-models/orders/order-view';
import { listOrders, type ListOrders, type OrderPage } from './read-models/orders/orders-query';
import { toOrderEvent } from './read-models/orders/orders-projection';

/** Who is asking: customers see their own orders only; admins see all. */
export interface Viewer {
  subject: string;
  admin: boolean;
}

/** How a command's events are stored: ids derived from the causing message, and its trace. */
export interface CommandContext {
  eventId?: (index: number) => string;
  metadata?: EventMetadata;
}

export interface OrdersOptions {
  store: EventStore;
  db: Knex;
  clock: Clock;
  payments: PaymentProvider;
  paymentTimeoutMs: number;
}

/**
 * The order service's use cases: load the stream, decide, append (through
 * `executeCommand`, with bounded retries on conflicts), and the reads. Calls
 * to the payment provider happen here, outside the pure decisions, which get
 * the provider's answer as data.
 */
export class Orders {
  constructor(private readonly options: OrdersOptions) {}

  private now(): string {
    return this.options.clock.now().toISOString();
  }

  private async execute(command: OrderCommand, context: CommandContext = {}) {
    return executeCommand<Order, OrderEvent>({
      store: this.options.store,
      streamId: orderStreamId(command.orderId),
      decider: orderDecider,
      decide: (state) => decide(state, command),
      ...(context.eventId ? { eventId: context.eventId } : {}),
      ...(context.metadata ? { metadata: context.metadata } : {}),
    });
  }

  private async load(orderId: string): Promise<Order> {
    const events = await this.options.store.readStream(orderStreamId(orderId));
    return events.map(toOrderEvent).reduce(orderDecider.evolve, orderDecider.initialState);
  }

  /**
   * The order id is derived from the customer and the Idempotency-Key: a
   * retry that runs the handler again (the HTTP claim went stale after a
   * crash) lands on the same stream and decides nothing.
   */
  async place(input: {
    customerId: string;
    idempotencyKey: string;
    lines: OrderLine[];
    paymentToken: string;
    traceparent?: string;
  }): Promise<OrderView> {
    const orderId = deterministicId('order', input.customerId, input.idempotencyKey);
    await this.execute(
      { type: 'PlaceOrder', orderId, customerId: input.customerId, lines: input.lines, paymentToken: input.paymentToken, now: this.now() },
      { metadata: httpMetadata(orderId, input.traceparent) },
    );
    return (await this.find(orderId, { subject: input.customerId, admin: false }))!;
  }

  async requestCancellation(input: { orderId: string; viewer: Viewer; reason?: string; traceparent?: string }): Promise<OrderView> {
    await this.execute(
      {
        type: 'RequestCancellation',
        orderId: input.orderId,
        requestedBy: input.viewer,
        ...(input.reason ? { reason: input.reason } : {}),
        now: this.now(),
      },
      { metadata: httpMetadata(input.orderId, input.traceparent) },
    );
    return (await this.find(input.orderId, input.viewer))!;
  }

  /** Read from the stream, so a client sees its own writes at once. Another customer's order is absent. */
  async find(orderId: string, viewer: Viewer): Promise<OrderView | undefined> {
    const events = await this.options.store.readStream(orderStreamId(orderId));
    const view = orderViewFrom(events.map(toOrderEvent));
    if (!view || (!viewer.admin && view.customerId !== viewer.subject)) return undefined;
    return view;
  }

  async get(orderId: string, viewer: Viewer): Promise<OrderView> {
    const view = await this.find(orderId, viewer);
    if (!view) throw new NotFoundError(`order ${orderId} does not exist`, { orderId });
    return view;
  }

  /** From the read model; a customer's list is always restricted to their own orders. */
  list(viewer: Viewer, query: Omit<ListOrders, 'customerId'> & { customerId?: string }): Promise<OrderPage> {
    const customerId = viewer.admin ? query.customerId : viewer.subject;
    return listOrders(this.options.db, { ...query, customerId });
  }

  /**
   * Asks the provider only when the decision needs its answer (see
   * `paymentToAuthorize`); the provider call's idempotency key is derived
   * from the order, so a redelivery after a crash cannot authorize twice.
   */
  async authorizePayment(input: { orderId: string; amount: Money }, context: CommandContext): Promise<OrderEvent[]> {
    const paymentToken = paymentToAuthorize(await this.load(input.orderId));
    let answer: PaymentAnswer | undefined;
    if (paymentToken !== undefined) {
      answer = await authorizeWithTimeout(
        this.options.payments,
        { orderId: input.orderId, paymentToken, amount: input.amount },
        this.options.paymentTimeoutMs,
      );
    }
    const outcome = await this.execute(
      { type: 'AuthorizePayment', orderId: input.orderId, amount: input.amount, ...(answer ? { answer } : {}), now: this.now() },
      context,
    );
    return outcome.events;
  }

  async voidPayment(input: { orderId: string }, context: CommandContext): Promise<OrderEvent[]> {
    const authorizationId = authorizationToVoid(await this.load(input.orderId));
    // Voiding is idempotent at the provider, so a redelivery may void again.
    if (authorizationId !== undefined) await this.options.payments.void(authorizationId);
    const outcome = await this.execute(
      {
        type: 'VoidPayment',
        orderId: input.orderId,
        ...(authorizationId !== undefined ? { voidedAuthorizationId: authorizationId } : {}),
        now: this.now(),
      },
      context,
    );
    return outcome.events;
  }

  async confirm(input: { orderId: string; lines: PricedLine[]; total: Money }, context: CommandContext): Promise<OrderEvent[]> {
    return (await this.execute({ type: 'ConfirmOrder', ...input, now: this.now() }, context)).events;
  }

  async reject(input: { orderId: string; reason: string }, context: CommandContext): Promise<OrderEvent[]> {
    return (await this.execute({ type: 'RejectOrder', ...input, now: this.now() }, context)).events;
  }

  async cancel(input: { orderId: string; reason: string }, context: CommandContext): Promise<OrderEvent[]> {
    return (await this.execute({ type: 'CancelOrder', ...input, now: this.now() }, context)).events;
  }
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** An HTTP command starts the order's conversation: the order id correlates everything that follows. */
function httpMetadata(orderId: string, traceparent: string | undefined): EventMetadata {
  return { correlationId: orderId, ...(traceparent && TRACEPARENT.test(traceparent) ? { traceparent } : {}) };
}
