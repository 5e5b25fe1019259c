import { serviceMain } from '@shop/platform';
import { inventoryService } from './composition';

/** Starts the service from an environment (tests, the local stack); `node --import tsx inventory-service/src/main.ts` runs it. */
export const startService = serviceMain(import.meta.url, inventoryService);
