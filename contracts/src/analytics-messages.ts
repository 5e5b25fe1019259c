import { z } from 'zod';
import { defineMessage, type MessageDefinition } from './message';
import { Timestamp } from './shared';
import { TOPICS } from './topics';

const AlertId = z.uuid();
const RuleId = z.uuid();
/** What the alert is about: '' for a platform-wide figure, else e.g. the SKU of a stock rule. */
const Subject = z.string().max(200);

export const AlertRaised = defineMessage({
  type: 'analytics.alert-raised',
  version: 1,
  kind: 'event',
  topic: TOPICS.analyticsEvents,
  schema: z.object({
    alertId: AlertId,
    ruleId: RuleId,
    ruleName: z.string().min(1).max(200),
    subject: Subject,
    severity: z.enum(['info', 'warning', 'critical']),
    metric: z.string().min(1).max(100),
    comparator: z.enum(['above', 'below']),
    threshold: z.number(),
    windowMinutes: z.number().int().min(1),
    value: z.number(),
    samples: z.number().int().min(0),
    message: z.string().min(1).max(500),
    raisedAt: Timestamp,
  }),
  key: (d) => d.ruleId,
  producer: 'analytics-service',
  consumers: [],
  description: "An alert rule's condition started to hold: the measured value crossed the threshold over the rule's window.",
});

export const AlertResolved = defineMessage({
  type: 'analytics.alert-resolved',
  version: 1,
  kind: 'event',
  topic: TOPICS.analyticsEvents,
  schema: z.object({
    alertId: AlertId,
    ruleId: RuleId,
    subject: Subject,
    /** The last measured value (null when the rule was disabled or deleted). */
    value: z.number().nullable(),
    reason: z.enum(['recovered', 'rule-disabled', 'rule-deleted', 'rule-changed']),
    resolvedAt: Timestamp,
  }),
  key: (d) => d.ruleId,
  producer: 'analytics-service',
  consumers: [],
  description: 'A raised alert no longer holds: the value recovered, or its rule was changed, disabled or deleted.',
});

export const analyticsMessages: MessageDefinition[] = [AlertRaised, AlertResolved];
