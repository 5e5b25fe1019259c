import { TOPICS } from '@shop/contracts';
import { TOKENS, defineService, projectionRunner, token } from '@shop/platform';
import { analyticsMigrations } from '../migrations';
import { AlertEvaluator } from './alerts/alert-evaluator';
import { AlertRulesStore } from './alerts/alert-rules-store';
import { alertRoutes } from './alerts/api';
import { configShape } from './config';
import { dashboardMounts } from './dashboard/dashboard';
import { ARCHIVED_TOPICS, ARCHIVE_CONSUMER, archiveHandlers } from './integration/inbound/archived-facts';
import { SOURCE, alertEventToMessages } from './integration/outbound/to-messages';
import { allProjections } from './read-models/all-projections';
import { analyticsRoutes } from './read-models/api';
import { ReadModels } from './read-models/read-models';

export const READ_MODELS = token<ReadModels>('analytics-service.ReadModels');
export const ALERT_RULES = token<AlertRulesStore>('analytics-service.AlertRules');
export const ALERT_EVALUATOR = token<AlertEvaluator>('analytics-service.AlertEvaluator');

/**
 * Analytics: an archive of every integration event (its own event store), the
 * projections over it with their read API and dashboard, and alert rules
 * whose alert events leave through the outbox.
 */
export const analyticsService = defineService({
  description: 'Analytics: an archive of every integration event, projections over it, and their read API (admins).',
  config: configShape,
  migrations: { set: 'analytics', migrations: analyticsMigrations },
  provides: (provide) => [
    provide(READ_MODELS, (get, config) => {
      const runners = allProjections().map((p) => projectionRunner(get(TOKENS.Database), get(TOKENS.EventStore), get(TOKENS.Logger), p));
      return new ReadModels(runners, { waitTimeoutMs: config.READ_YOUR_WRITES_TIMEOUT });
    }),
    provide(ALERT_RULES, (get) => new AlertRulesStore(get(TOKENS.Database))),
    provide(ALERT_EVALUATOR, (get) => new AlertEvaluator(get(TOKENS.Database), get(TOKENS.EventStore), get(ALERT_RULES), get(TOKENS.Clock))),
  ],
  consumes: { 'analytics-archive': { group: ARCHIVE_CONSUMER, handlers: () => archiveHandlers(ARCHIVED_TOPICS) } },
  // Alert events (stream category `alert`, in the same store as the archive) leave through the outbox.
  publishes: { source: SOURCE, toMessages: alertEventToMessages, topics: [TOPICS.analyticsEvents], filter: { categories: ['alert'] } },
  projections: (get) => get(READ_MODELS).runners,
  tasks: [{ name: 'alert evaluation', everyMs: (config) => config.ALERT_EVALUATION_INTERVAL, run: (get) => () => get(ALERT_EVALUATOR).evaluateOnce() }],
  mounts: (get) => dashboardMounts({ readModels: get(READ_MODELS), verifier: get(TOKENS.TokenVerifier), logger: get(TOKENS.Logger) }),
  routes: (get) => [
    ...analyticsRoutes(get(TOKENS.Database), get(READ_MODELS)),
    ...alertRoutes(get(TOKENS.Database), get(ALERT_RULES), get(READ_MODELS), get(TOKENS.Clock)),
  ],
});
