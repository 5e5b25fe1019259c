import { z } from 'zod';
import { defineMessage } from './message';
import { OrderId, OrderLine, Sku, Timestamp } from './shared';
import { TOPICS } from './topics';

const Count = z.number().int().min(0);

export const StockLevelChanged = defineMessage({
  type: 'inventory.stock-level-changed',
  version: 1,
  kind: 'event',
  topic: TOPICS.inventoryEvents,
  schema: z.object({
    sku: Sku,
    onHand: Count,
    reserved: Count,
    available: Count,
    sold: Count,
    received: Count,
    cause: z.enum(['received', 'adjusted', 'reserved', 'released', 'committed', 'restocked']),
    orderId: OrderId.optional(),
    changedAt: Timestamp,
  }),
  key: (d) => d.sku,
  producer: 'inventory-service',
  consumers: ['analytics-service'],
  description: "The stock of a SKU changed; the figures are the levels after the change ('restocked': a cancelled order's sold stock is back on hand).",
});

export const ReserveStock = defineMessage({
  type: 'inventory.reserve-stock',
  version: 1,
  kind: 'command',
  topic: TOPICS.inventoryCommands,
  schema: z.object({ orderId: OrderId, lines: z.array(OrderLine).min(1).max(100) }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['inventory-service'],
  description: 'Reserve every line for the order, or none of them.',
});

export const StockReserved = defineMessage({
  type: 'inventory.stock-reserved',
  version: 1,
  kind: 'event',
  topic: TOPICS.inventoryEvents,
  schema: z.object({ orderId: OrderId, lines: z.array(OrderLine).min(1) }),
  key: (d) => d.orderId,
  producer: 'inventory-service',
  consumers: ['coordinator-service'],
  description: 'Reply: every line is reserved for the order.',
});

export const StockReservationFailed = defineMessage({
  type: 'inventory.stock-reservation-failed',
  version: 1,
  kind: 'event',
  topic: TOPICS.inventoryEvents,
  schema: z.object({
    orderId: OrderId,
    shortages: z.array(z.object({ sku: Sku, requested: z.number().int(), available: Count })).min(1),
  }),
  key: (d) => d.orderId,
  producer: 'inventory-service',
  consumers: ['coordinator-service'],
  description: 'Reply: not enough stock; nothing was reserved.',
});

export const ReleaseStock = defineMessage({
  type: 'inventory.release-stock',
  version: 1,
  kind: 'command',
  topic: TOPICS.inventoryCommands,
  schema: z.object({ orderId: OrderId, reason: z.string().optional() }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['inventory-service'],
  description: "Release the order's reservation (restock it if it was committed); releasing nothing is not an error.",
});

export const StockReleased = defineMessage({
  type: 'inventory.stock-released',
  version: 1,
  kind: 'event',
  topic: TOPICS.inventoryEvents,
  schema: z.object({ orderId: OrderId, lines: z.array(OrderLine) }),
  key: (d) => d.orderId,
  producer: 'inventory-service',
  consumers: ['coordinator-service'],
  description: 'Reply: the reservation is released, or, if it was committed, its sold lines are back on hand (lines empty when there was none).',
});

export const CommitReservation = defineMessage({
  type: 'inventory.commit-reservation',
  version: 1,
  kind: 'command',
  topic: TOPICS.inventoryCommands,
  schema: z.object({ orderId: OrderId }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['inventory-service'],
  description: "The order is confirmed: its reserved stock is sold and leaves the warehouse's stock.",
});

export const ReservationCommitted = defineMessage({
  type: 'inventory.reservation-committed',
  version: 1,
  kind: 'event',
  topic: TOPICS.inventoryEvents,
  schema: z.object({ orderId: OrderId, lines: z.array(OrderLine) }),
  key: (d) => d.orderId,
  producer: 'inventory-service',
  consumers: ['coordinator-service', 'analytics-service'],
  description: 'Reply: the reserved lines are sold.',
});

export const inventoryMessages = [
  StockLevelChanged,
  ReserveStock,
  StockReserved,
  StockReservationFailed,
  ReleaseStock,
  StockReleased,
  CommitReservation,
  ReservationCommitted,
] as const;
