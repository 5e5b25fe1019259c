import {
  CommitReservation,
  ReleaseStock,
  ReserveStock,
  UnknownMessageError,
  contracts,
  decodeContract,
  type MessageData,
} from '@shop/contracts';
import { isHandled, markHandled, type ConsumedMessage } from '@shop/platform';
import type { Knex } from 'knex';
import type { CommandContext } from '../../shared/command-context';
import type { Reservations } from '../../reservations/reservations';

export const CONSUMER_GROUP = 'inventory-service';

/**
 * The consumer of `inventory.commands`: contract message → local command.
 *
 * Exactly-once effect on an at-least-once bus: a message whose envelope id
 * is in the inbox is skipped; otherwise the command runs (event ids derived
 * from the envelope id, deciders idempotent), and only then is the id
 * recorded, in its own transaction, since the effect is an event-store append
 * that cannot share a transaction with the inbox. A crash between the two
 * redelivers the message, and the rerun decides nothing new.
 *
 * Replies are not published here: the local events are, by the outbox relay.
 */
export function inventoryCommandHandler(deps: { db: Knex; reservations: Reservations }): (message: ConsumedMessage) => Promise<void> {
  const { db, reservations } = deps;
  return async (message) => {
    const { envelope, definition, data } = decodeContract(contracts, message);
    if (await isHandled(db, CONSUMER_GROUP, envelope.id)) return;
    const context: CommandContext = {
      messageId: envelope.id,
      metadata: {
        correlationId: envelope.correlationid,
        causationId: envelope.id,
        ...(envelope.traceparent ? { traceparent: envelope.traceparent } : {}),
      },
    };
    switch (definition.type) {
      case ReserveStock.type: {
        const d = data as MessageData<typeof ReserveStock>;
        await reservations.reserve({ orderId: d.orderId, lines: d.lines }, context);
        break;
      }
      case ReleaseStock.type:
        await reservations.release({ orderId: (data as MessageData<typeof ReleaseStock>).orderId }, context);
        break;
      case CommitReservation.type:
        await reservations.commit({ orderId: (data as MessageData<typeof CommitReservation>).orderId }, context);
        break;
      default:
        throw new UnknownMessageError(`${CONSUMER_GROUP} does not handle ${definition.type} on ${message.topic}`);
    }
    await markHandled(db, CONSUMER_GROUP, envelope.id);
  };
}

