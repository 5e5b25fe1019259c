/**
 * Alerts of one rule, event-sourced in the stream `alert-<ruleId>`: the
 * evaluator folds the stream into the alerts that are raised now, measures
 * the rule's metric, and `decideAlerts` says which alerts to raise and which
 * to resolve. Pure: time and ids come in as data.
 *
 * The stream is appended at the revision it was read at, so two evaluators
 * (two analytics instances) cannot raise the same alert twice: the second
 * append fails and that evaluator moves on.
 */
import type { AlertRule, Observation } from './alert-rule';
import { describeAlert, holds } from './alert-rule';

export const alertStreamId = (ruleId: string) => `alert-${ruleId}`;

export type ResolveReason = 'recovered' | 'rule-disabled' | 'rule-deleted' | 'rule-changed';

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

export interface RaisedAlert {
  alertId: string;
  subject: string;
  ruleVersion: number;
}

/** Raised alerts by subject. */
export type RuleAlerts = Map<string, RaisedAlert>;

export function foldAlerts(events: readonly AlertEvent[]): RuleAlerts {
  const raised: RuleAlerts = new Map();
  for (const e of events) {
    if (e.type === 'AlertRaised') raised.set(e.subject, { alertId: e.alertId, subject: e.subject, ruleVersion: e.ruleVersion });
    else raised.delete(e.subject);
  }
  return raised;
}

export interface AlertDecisionContext {
  now: string;
  /** A deterministic id for the n-th alert of the rule (so a retried evaluation raises the same alert). */
  alertId: (ruleId: string, subject: string, n: number) => string;
  /** How many events the rule's stream holds (the n of the next alert id). */
  streamLength: number;
}

/**
 * The rule's new events, given the alerts raised now and the metric's
 * observations (`undefined` when the rule is disabled or deleted). A subject
 * the observations do not mention no longer holds.
 */
export function decideAlerts(
  rule: AlertRule & { deleted?: boolean },
  raised: RuleAlerts,
  observations: readonly Observation[] | undefined,
  ctx: AlertDecisionContext,
): AlertEvent[] {
  const events: AlertEvent[] = [];
  const resolve = (alert: RaisedAlert, value: number | null, reason: ResolveReason) =>
    events.push({ type: 'AlertResolved', alertId: alert.alertId, ruleId: rule.id, subject: alert.subject, value, reason, resolvedAt: ctx.now });

  if (rule.deleted || !rule.enabled || observations === undefined) {
    for (const alert of raised.values()) resolve(alert, null, rule.deleted ? 'rule-deleted' : 'rule-disabled');
    return events;
  }
  const bySubject = new Map(observations.map((o) => [o.subject, o]));
  for (const alert of raised.values()) {
    const o = bySubject.get(alert.subject);
    if (alert.ruleVersion !== rule.version) resolve(alert, o?.value ?? null, 'rule-changed');
    else if (!o || !holds(rule, o)) resolve(alert, o?.value ?? null, 'recovered');
  }
  const stillRaised = new Set([...raised.values()].filter((a) => a.ruleVersion === rule.version).map((a) => a.subject));
  for (const o of observations) {
    if (stillRaised.has(o.subject) || !holds(rule, o)) continue;
    events.push({
      type: 'AlertRaised',
      alertId: ctx.alertId(rule.id, o.subject, ctx.streamLength + events.length),
      ruleId: rule.id,
      ruleName: rule.name,
      ruleVersion: rule.version,
      subject: o.subject,
      severity: rule.severity,
      metric: rule.metric,
      comparator: rule.comparator,
      threshold: rule.threshold,
      windowMinutes: rule.windowMinutes,
      value: o.value,
      samples: o.samples,
      message: describeAlert(rule, o),
      raisedAt: ctx.now,
    });
  }
  return events;
}
