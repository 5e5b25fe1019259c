import { serviceMain } from '@shop/platform';
import { analyticsService } from './composition';

/** Starts the service from an environment (tests, the local stack); `node --import tsx analytics-service/src/main.ts` runs it. */
export const startService = serviceMain(import.meta.url, analyticsService);
