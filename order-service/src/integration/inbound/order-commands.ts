import type { Knex } from 'knex';
import {
  AuthorizePayment,
  CancelOrder,
  ConfirmOrder,
  RejectOrder,
  UnknownMessageError,
  VoidPayment,
  contracts,
  decodeContract,
  type MessageData,
} from '@shop/contracts';
import {
  ConcurrencyError,
  NonRetriableError,
  PlatformError,
  deterministicId,
  isHandled,
  markHandled,
  type ConsumedMessage,
  type Envelope,
} from '@shop/platform';
import type { CommandContext, Orders } from '../../orders/orders';

/** The consumer group, and the inbox's consumer name. */
export const ORDER_COMMANDS_CONSUMER = 'order-service';

/**
 * The coordinator's commands on `order.commands` -> the order's use cases.
 *
 * Exactly-once effect over at-least-once delivery: a message whose envelope
 * id is in the inbox is skipped; otherwise its effect is an event-store
 * append whose event ids are derived from the envelope id, and the inbox row
 * is written after the append succeeded, in its own transaction (the append
 * is not in the service database's transaction). A crash in between
 * redelivers the message: the decision then finds its effect in the stream
 * and decides nothing, and the store refuses the derived ids if it did not.
 *
 * Replies are not published here: the events appended become the contract
 * replies through the outbox relay.
 */
export function orderCommandsHandler(deps: { db: Knex; orders: Orders }): (message: ConsumedMessage) => Promise<void> {
  const { db, orders } = deps;
  return async (message) => {
    const { envelope, definition, data } = decodeContract(contracts, message);
    if (await isHandled(db, ORDER_COMMANDS_CONSUMER, envelope.id)) return;
    const context = commandContext(envelope);
    try {
      switch (definition.type) {
        case AuthorizePayment.type:
          await orders.authorizePayment(data as MessageData<typeof AuthorizePayment>, context);
          break;
        case VoidPayment.type:
          await orders.voidPayment(data as MessageData<typeof VoidPayment>, context);
          break;
        case ConfirmOrder.type:
          await orders.confirm(data as MessageData<typeof ConfirmOrder>, context);
          break;
        case RejectOrder.type:
          await orders.reject(data as MessageData<typeof RejectOrder>, context);
          break;
        case CancelOrder.type:
          await orders.cancel(data as MessageData<typeof CancelOrder>, context);
          break;
        default:
          throw new UnknownMessageError(`${definition.type} is not a command the order service handles`);
      }
    } catch (err) {
      throw deliveryError(err);
    }
    await markHandled(db, ORDER_COMMANDS_CONSUMER, envelope.id);
  };
}


function commandContext(envelope: Envelope): CommandContext {
  return {
    eventId: (i) => deterministicId(envelope.id, i),
    metadata: {
      correlationId: envelope.correlationid,
      causationId: envelope.id,
      ...(envelope.traceparent ? { traceparent: envelope.traceparent } : {}),
    },
  };
}

/**
 * A broken rule (unknown order, confirming a rejected order...) will not be
 * fixed by retrying: dead-letter it at once, with the reason. Concurrency
 * conflicts and infrastructure errors are retried with backoff.
 */
function deliveryError(err: unknown): unknown {
  if (err instanceof PlatformError && err.status < 500 && !(err instanceof ConcurrencyError)) {
    return new NonRetriableError(`${err.name}: ${err.message}`, { cause: err });
  }
  return err;
}
