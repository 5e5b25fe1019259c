import { serviceMain } from '@shop/platform';
import { catalogService } from './composition';

/** Starts the service from an environment (tests, the local stack); `node --import tsx catalog-service/src/main.ts` runs it. */
export const startService = serviceMain(import.meta.url, catalogService);
