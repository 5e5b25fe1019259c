import { ALL_TOPICS, TOPIC_PARTITIONS } from '@shop/contracts';
import { TOKENS, loadConfig, resolve, startServiceHost, type HostedService } from '@shop/platform';
import { analyticsMigrations } from '../migrations';
import { alertRoutes } from './alerts/alert-routes';
import { analyticsRoutes } from './api';
import { ALERT_EVALUATION, ALERT_RULES, ARCHIVE_CONSUMER_TOKEN, OUTBOX_RELAY, READ_MODELS, compose } from './composition';
import { configShape } from './config';
import { dashboardMounts } from './dashboard/dashboard';

export type RunningService = HostedService;

/**
 * The service wiring (`main.ts` runs it as a process). Through the
 * platform's service host: migrations, topics, the projections over the
 * archive, the outbox relay of alert events, the archive consumer, the alert
 * evaluation, then HTTP; `stop()` undoes it in the opposite order.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  const readModels = resolve(c, READ_MODELS);
  return startServiceHost({
    container: c,
    config,
    description: 'Analytics: an archive of every integration event, projections over it, and their read API (admins).',
    migrations: { set: 'analytics', migrations: analyticsMigrations },
    topics: ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })),
    projections: readModels.runners,
    relay: resolve(c, OUTBOX_RELAY),
    consumers: { 'analytics-archive': resolve(c, ARCHIVE_CONSUMER_TOKEN) },
    workers: [resolve(c, ALERT_EVALUATION)],
    mounts: dashboardMounts({ readModels, verifier: resolve(c, TOKENS.TokenVerifier), logger: resolve(c, TOKENS.Logger) }),
    routes: [
      ...analyticsRoutes(resolve(c, TOKENS.Database), readModels),
      ...alertRoutes(resolve(c, TOKENS.Database), resolve(c, ALERT_RULES), readModels, resolve(c, TOKENS.Clock)),
    ],
  });
}
