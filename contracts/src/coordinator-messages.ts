import { z } from 'zod';
import { defineMessage, type MessageDefinition } from './message';
import { OrderId, Timestamp } from './shared';
import { TOPICS } from './topics';

export const SagaEnded = defineMessage({
  type: 'saga.ended',
  version: 1,
  kind: 'event',
  topic: TOPICS.coordinatorEvents,
  schema: z.object({
    sagaId: z.string().min(1).max(200),
    sagaType: z.enum(['place-order', 'cancel-order']),
    orderId: OrderId,
    outcome: z.enum(['completed', 'rejected', 'cancelled']),
    reason: z.string().min(1).max(500).optional(),
    /** Compensating steps run (void payment, release stock) plus late replies compensated. 0: nothing was undone. */
    compensations: z.number().int().min(0),
    startedAt: Timestamp,
    endedAt: Timestamp,
    durationMs: z.number().int().min(0),
  }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['analytics-service'],
  description: 'A saga reached its end: its outcome, how long it ran and how many compensations it needed.',
});

export const coordinatorMessages: MessageDefinition[] = [SagaEnded];
