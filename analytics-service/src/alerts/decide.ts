/**
 * What the evaluator decides for one rule: given the alerts raised now (the
 * rule's stream folded) and the metric's observations, which alerts to raise
 * and which to resolve. Pure: time and ids come in with the command.
 *
 * The stream is appended at the revision it was read at, so two evaluators
 * (two analytics instances) cannot raise the same alert twice: the second
 * commit fails and that evaluator moves on.
 */
import type { Decider } from '@shop/platform';
import { describeAlert, holds, type AlertRule, type Observation } from './alert-rule';
import { alertEventCodec, evolveRuleAlerts, initialRuleAlerts, type AlertEvent, type RaisedAlert, type ResolveReason, type RuleAlerts } from './alerts';

/** One evaluation of a rule. */
export interface EvaluateRule {
  type: 'EvaluateRule';
  rule: AlertRule & { deleted?: boolean };
  /** The metric's observations (`undefined` when the rule is disabled or deleted). A subject they do not mention no longer holds. */
  observations: readonly Observation[] | undefined;
  now: string;
  /** A deterministic id for the n-th alert of the rule (so a retried evaluation raises the same alert). */
  alertId: (ruleId: string, subject: string, n: number) => string;
}

export type AlertCommand = EvaluateRule;

/** The rule's new events, given the alerts raised now and the metric's observations. */
export function decideAlerts(command: AlertCommand, state: RuleAlerts): AlertEvent[] {
  const { rule, observations, now } = command;
  const events: AlertEvent[] = [];
  const resolve = (alert: RaisedAlert, value: number | null, reason: ResolveReason) =>
    events.push({ type: 'AlertResolved', alertId: alert.alertId, ruleId: rule.id, subject: alert.subject, value, reason, resolvedAt: now });

  if (rule.deleted || !rule.enabled || observations === undefined) {
    for (const alert of state.raised.values()) resolve(alert, null, rule.deleted ? 'rule-deleted' : 'rule-disabled');
    return events;
  }
  const bySubject = new Map(observations.map((o) => [o.subject, o]));
  for (const alert of state.raised.values()) {
    const o = bySubject.get(alert.subject);
    if (alert.ruleVersion !== rule.version) resolve(alert, o?.value ?? null, 'rule-changed');
    else if (!o || !holds(rule, o)) resolve(alert, o?.value ?? null, 'recovered');
  }
  const stillRaised = new Set([...state.raised.values()].filter((a) => a.ruleVersion === rule.version).map((a) => a.subject));
  for (const o of observations) {
    if (stillRaised.has(o.subject) || !holds(rule, o)) continue;
    events.push({
      type: 'AlertRaised',
      alertId: command.alertId(rule.id, o.subject, state.events + events.length),
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
      raisedAt: now,
    });
  }
  return events;
}

/** A rule's alerts: the stream `alert-<ruleId>` folded, decided on, and read back with its codec. */
export const alertsDecider: Decider<AlertCommand, RuleAlerts, AlertEvent> = {
  initialState: initialRuleAlerts,
  evolve: evolveRuleAlerts,
  decide: decideAlerts,
  codec: alertEventCodec,
};
