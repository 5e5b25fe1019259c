import { runWhenMain } from '@shop/platform';
import { startService } from './service';

export { startService, type RunningService } from './service';

// `node --import tsx analytics-service/src/main.ts` (the local-stack launcher) starts the service.
runWhenMain(import.meta.url, startService);
