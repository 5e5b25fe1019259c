export type ServiceName = 'catalog-service' | 'inventory-service' | 'order-service' | 'coordinator-service' | 'analytics-service';

/**
 * Facts go to `<service>.events` (replies to the coordinator included);
 * the coordinator's commands go to `<service>.commands`.
 */
export const TOPICS = {
  catalogEvents: 'catalog.events',
  catalogCommands: 'catalog.commands',
  inventoryEvents: 'inventory.events',
  inventoryCommands: 'inventory.commands',
  orderEvents: 'order.events',
  orderCommands: 'order.commands',
  coordinatorEvents: 'coordinator.events',
  analyticsEvents: 'analytics.events',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

export const ALL_TOPICS: TopicName[] = Object.values(TOPICS);
