/**
 * Alerts of one rule, event-sourced in the stream `alert-<ruleId>`: the
 * events the evaluator records (`AlertRaised`, `AlertResolved`), their
 * schemas and codec, and the state they fold into (the alerts raised now).
 * What to raise and resolve is decided in `decide.ts`.
 */
import { z } from 'zod';
import { Timestamp } from '@shop/contracts';
import { eventCodec } from '@shop/platform';
import { METRICS, SEVERITIES, type AlertRule } from './alert-rule';

export const alertStreamId = (ruleId: string) => `alert-${ruleId}`;

export const RESOLVE_REASONS = ['recovered', 'rule-disabled', 'rule-deleted', 'rule-changed'] as const;
export type ResolveReason = (typeof RESOLVE_REASONS)[number];

export type AlertEvent =
  | {
      type: 'AlertRaised';
      alertId: string;
      ruleId: string;
      ruleName: string;
      /** The rule version the alert was raised under (a changed rule resolves it). */
      ruleVersion: number;
      subject: string;
      severity: AlertRule['severity'];
      metric: AlertRule['metric'];
      comparator: AlertRule['comparator'];
      threshold: number;
      windowMinutes: number;
      value: number;
      samples: number;
      message: string;
      raisedAt: string;
    }
  | { type: 'AlertResolved'; alertId: string; ruleId: string; subject: string; value: number | null; reason: ResolveReason; resolvedAt: string };

/** The stored data of each alert event (everything but `type`), as the codec validates it. */
export const ALERT_EVENT_SCHEMAS = {
  AlertRaised: z.object({
    alertId: z.uuid(),
    ruleId: z.uuid(),
    ruleName: z.string().min(1),
    ruleVersion: z.number().int().min(1),
    subject: z.string(),
    severity: z.enum(SEVERITIES),
    metric: z.enum(METRICS),
    comparator: z.enum(['above', 'below']),
    threshold: z.number(),
    windowMinutes: z.number().int().min(1),
    value: z.number(),
    samples: z.number().int().min(0),
    message: z.string(),
    raisedAt: Timestamp,
  }),
  AlertResolved: z.object({
    alertId: z.uuid(),
    ruleId: z.uuid(),
    subject: z.string(),
    value: z.number().nullable(),
    reason: z.enum(RESOLVE_REASONS),
    resolvedAt: Timestamp,
  }),
};

/** Reads stored alert events back as `AlertEvent`s, validated (`CorruptEventError` otherwise). */
export const alertEventCodec = eventCodec<AlertEvent>(ALERT_EVENT_SCHEMAS);

export interface RaisedAlert {
  alertId: string;
  subject: string;
  ruleVersion: number;
}

/** A rule's stream folded: the alerts raised now, by subject, and how many events the stream holds (the n of the next alert id). */
export interface RuleAlerts {
  raised: ReadonlyMap<string, RaisedAlert>;
  events: number;
}

export const initialRuleAlerts: RuleAlerts = { raised: new Map(), events: 0 };

export function evolveRuleAlerts(state: RuleAlerts, event: AlertEvent): RuleAlerts {
  const raised = new Map(state.raised);
  if (event.type === 'AlertRaised') raised.set(event.subject, { alertId: event.alertId, subject: event.subject, ruleVersion: event.ruleVersion });
  else raised.delete(event.subject);
  return { raised, events: state.events + 1 };
}
