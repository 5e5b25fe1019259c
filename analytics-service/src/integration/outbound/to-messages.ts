import { AlertRaised, AlertResolved } from '@shop/contracts';
import { outboundMessages, send } from '@shop/platform';
import { alertEventCodec, type AlertEvent } from '../../alerts/alerts';

export const SOURCE = 'analytics-service';

/**
 * The outbox relay's mapping of stored alert events, one entry per type:
 * `analytics.alert-raised` / `analytics.alert-resolved`. Each stored event is
 * read back with the alert codec (a corrupt one stops the relay, named). The
 * message id is the stored event's id, so a relay re-send carries the same
 * id; the correlation is the rule's stream (the evaluator stores it as the
 * events' correlation id).
 */
export const alertEventToMessages = outboundMessages<AlertEvent>(
  SOURCE,
  {
    AlertRaised: ({ type: _type, ruleVersion: _version, ...data }) => send(AlertRaised, data),
    AlertResolved: ({ type: _type, ...data }) => send(AlertResolved, data),
  },
  alertEventCodec,
);
