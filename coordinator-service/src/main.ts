import { serviceMain } from '@shop/platform';
import { coordinatorService } from './composition';

/** Starts the service from an environment (tests, the local stack); `node --import tsx coordinator-service/src/main.ts` runs it. */
export const startService = serviceMain(import.meta.url, coordinatorService);
