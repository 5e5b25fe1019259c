import { env, serviceConfig, type ConfigOf } from '@shop/platform';
import type { DeadlineSettings } from './sagas/steps';

export const configShape = serviceConfig('coordinator-service', {
  /** Per-step deadlines. The payment one must outlast the order service's PAYMENT_TIMEOUT (3 s by default). */
  DEADLINE_PRICING_MS: env.duration().default(3_000),
  DEADLINE_RESERVATION_MS: env.duration().default(3_000),
  DEADLINE_PAYMENT_MS: env.duration().default(6_000),
  DEADLINE_CONFIRMATION_MS: env.duration().default(3_000),
  /** Commit, void, release, reject and cancel: the first deadline; each re-send doubles it. */
  DEADLINE_COMPENSATION_MS: env.duration().default(3_000),
  /** Sends of a retried step (first included) before the saga fails and waits for an operator. */
  SAGA_MAX_SENDS: env.int({ min: 1, max: 20 }).default(4),
  SAGA_MAX_BACKOFF_MS: env.duration().default(30_000),
  /** A saga not ended this long after it started is listed as stuck (failed ones always are). */
  SAGA_STUCK_AFTER_MS: env.duration().default(60_000),
  /** How often each instance looks for due deadlines. */
  DEADLINE_POLL_MS: env.duration().default(200),
});

export type CoordinatorConfig = ConfigOf<typeof configShape>;

export function deadlineSettings(config: CoordinatorConfig): DeadlineSettings {
  return {
    pricingMs: config.DEADLINE_PRICING_MS,
    reservationMs: config.DEADLINE_RESERVATION_MS,
    paymentMs: config.DEADLINE_PAYMENT_MS,
    confirmationMs: config.DEADLINE_CONFIRMATION_MS,
    compensationMs: config.DEADLINE_COMPENSATION_MS,
    maxSends: config.SAGA_MAX_SENDS,
    maxBackoffMs: config.SAGA_MAX_BACKOFF_MS,
  };
}
