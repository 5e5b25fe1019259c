import { analyticsMessages } from './analytics-messages';
import { catalogMessages } from './catalog-messages';
import { coordinatorMessages } from './coordinator-messages';
import { inventoryMessages } from './inventory-messages';
import { registry, type MessageDefinition } from './message';
import { orderMessages } from './order-messages';

export * from './message';
export * from './shared';
export * from './topics';
export * from './catalog-messages';
export * from './inventory-messages';
export * from './order-messages';
export * from './coordinator-messages';
export * from './analytics-messages';
export { contractJsonSchemas, publishedJsonSchemas } from './json-schemas';

/** Every message that crosses a service boundary. */
export const allMessages: readonly MessageDefinition[] = [...catalogMessages, ...inventoryMessages, ...orderMessages, ...coordinatorMessages, ...analyticsMessages];
export const contracts = registry(allMessages);
