import { serviceMain } from '@shop/platform';
import { orderService } from './composition';

/** Starts the service from an environment (tests, the local stack); `node --import tsx order-service/src/main.ts` runs it. */
export const startService = serviceMain(import.meta.url, orderService);
