import type { Knex } from 'knex';
import { deterministicId, executeCommand, NotFoundError, type Clock, type EventMetadata, type EventStore, type StreamStateCache, type Work } from '@shop/platform';
import { authorizeWithTimeout } from '../payments/authorize-with-timeout';
import type { PaymentProvider } from '../payments/payment-provider';
import { authorizationToVoid, orderDecider, paymentToAuthorize, type OrderCommand, type PaymentAnswer } from './decide';
import { orderCodec, orderStreamId, type Money, type OrderChannel, type OrderEvent, type OrderLine, type PricedLine } from './order';
import { listOrders, type ListOrders, type OrderPage } from './read-models/orders/query';
import { orderViewFrom, type OrderView } from './read-models/orders/view';

/** Who is asking: customers see their own orders only; admins see all. */
export interface Viewer {
  subject: string;
  admin: boolean;
}

export interface OrdersOptions {
  store: EventStore;
  db: Knex;
  clock: Clock;
  payments: PaymentProvider;
  paymentTimeoutMs: number;
  /** The process's stream cache, which the message path reads orders through: a request's write drops the order's entry. */
  cache?: StreamStateCache;
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

  /** A request's command, decided and appended alone (HTTP). */
  private async execute(command: OrderCommand, metadata: EventMetadata, options: { assumeNew?: boolean } = {}) {
    return executeCommand({
      store: this.options.store,
      streamId: orderStreamId(command.orderId),
      decider: orderDecider,
      command,
      metadata,
      ...(this.options.cache ? { cache: this.options.cache } : {}),
      ...options,
    });
  }

  /** A message's command, decided in its unit of work (the platform commits it with the inbox record). */
  private async executeIn(work: Work, command: OrderCommand): Promise<readonly OrderEvent[]> {
    return (await work.decide(orderStreamId(command.orderId), orderDecider, command)).events;
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
    channel: OrderChannel;
    traceparent?: string;
  }): Promise<OrderView> {
    const orderId = deterministicId('order', input.customerId, input.idempotencyKey);
    // A new key is a new order: appended without reading first; a retry finds its order and decides nothing.
    const outcome = await this.execute(
      { type: 'PlaceOrder', orderId, customerId: input.customerId, lines: input.lines, paymentToken: input.paymentToken, channel: input.channel, now: this.now() },
      httpMetadata(orderId, input.traceparent),
      { assumeNew: true },
    );
    // Created now: the stream holds exactly what was decided, so the view needs no read.
    if (outcome.created) return orderViewFrom(outcome.events)!;
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
      httpMetadata(input.orderId, input.traceparent),
    );
    return (await this.find(input.orderId, input.viewer))!;
  }

  /** Read from the stream, so a client sees its own writes at once. Another customer's order is absent. */
  async find(orderId: string, viewer: Viewer): Promise<OrderView | undefined> {
    const events = await this.options.store.readStream(orderStreamId(orderId));
    const view = orderViewFrom(events.map((e) => orderCodec.decode(e)));
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
  async authorizePayment(work: Work, input: { orderId: string; amount: Money }): Promise<readonly OrderEvent[]> {
    const paymentToken = paymentToAuthorize(await work.load(orderStreamId(input.orderId), orderDecider));
    let answer: PaymentAnswer | undefined;
    if (paymentToken !== undefined) {
      answer = await authorizeWithTimeout(
        this.options.payments,
        { orderId: input.orderId, paymentToken, amount: input.amount },
        this.options.paymentTimeoutMs,
      );
    }
    return this.executeIn(work, { type: 'AuthorizePayment', orderId: input.orderId, amount: input.amount, ...(answer ? { answer } : {}), now: this.now() });
  }

  async voidPayment(work: Work, input: { orderId: string }): Promise<readonly OrderEvent[]> {
    const authorizationId = authorizationToVoid(await work.load(orderStreamId(input.orderId), orderDecider));
    // Voiding is idempotent at the provider, so a redelivery may void again.
    if (authorizationId !== undefined) await this.options.payments.void(authorizationId);
    return this.executeIn(work, {
      type: 'VoidPayment',
      orderId: input.orderId,
      ...(authorizationId !== undefined ? { voidedAuthorizationId: authorizationId } : {}),
      now: this.now(),
    });
  }

  confirm(work: Work, input: { orderId: string; lines: PricedLine[]; total: Money }): Promise<readonly OrderEvent[]> {
    return this.executeIn(work, { type: 'ConfirmOrder', ...input, now: this.now() });
  }

  reject(work: Work, input: { orderId: string; reason: string }): Promise<readonly OrderEvent[]> {
    return this.executeIn(work, { type: 'RejectOrder', ...input, now: this.now() });
  }

  cancel(work: Work, input: { orderId: string; reason: string }): Promise<readonly OrderEvent[]> {
    return this.executeIn(work, { type: 'CancelOrder', ...input, now: this.now() });
  }
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** An HTTP command starts the order's conversation: the order id correlates everything that follows. */
function httpMetadata(orderId: string, traceparent: string | undefined): EventMetadata {
  return { correlationId: orderId, ...(traceparent && TRACEPARENT.test(traceparent) ? { traceparent } : {}) };
}
