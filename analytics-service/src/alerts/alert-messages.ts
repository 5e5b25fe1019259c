import { AlertRaised, AlertResolved } from '@shop/contracts';
import { outboundMessages, send } from '@shop/platform';
import type { AlertEvent } from './alerts';

export const SOURCE = 'analytics-service';

/**
 * The outbox relay's mapping of stored alert events, one entry per type:
 * `analytics.alert-raised` / `analytics.alert-resolved`. The message id is
 * the stored event's id, so a relay re-send carries the same id; the
 * correlation is the rule's stream (the evaluator stores it as the events'
 * correlation id).
 */
export const alertEventToMessages = outboundMessages<AlertEvent>(SOURCE, {
  AlertRaised: ({ type: _type, ruleVersion: _version, ...data }) => send(AlertRaised, data),
  AlertResolved: ({ type: _type, ...data }) => send(AlertResolved, data),
});
