import type { Knex } from 'knex';
import { WrongExpectedRevisionError, commitWork, deterministicId, type Clock, type EventStore } from '@shop/platform';
import type { AlertRule } from './alert-rule';
import { observe } from './alert-metrics';
import type { AlertRulesStore } from './alert-rules-store';
import { alertStreamId, type AlertEvent } from './alerts';
import { alertsDecider } from './decide';

export interface EvaluationResult {
  raised: number;
  resolved: number;
  /** Rules another evaluator changed first (they are looked at again next round). */
  conflicts: number;
}

/**
 * One round over every rule: measure its metric, then decide on its alert
 * stream (`alertsDecider`) and commit at the revision read. Event ids derive
 * from the stream and the revision each event takes, so a retried commit
 * after a lost reply is a no-op, and a concurrent evaluator's commit fails on
 * the revision instead of raising the same alert twice.
 */
export class AlertEvaluator {
  constructor(
    private readonly db: Knex,
    private readonly store: EventStore,
    private readonly rules: AlertRulesStore,
    private readonly clock: Clock,
  ) {}

  async evaluateOnce(): Promise<EvaluationResult> {
    const result: EvaluationResult = { raised: 0, resolved: 0, conflicts: 0 };
    for (const rule of await this.rules.forEvaluation()) {
      try {
        const events = await this.evaluateRule(rule);
        for (const e of events) result[e.type === 'AlertRaised' ? 'raised' : 'resolved'] += 1;
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError)) throw err;
        result.conflicts += 1;
      }
    }
    return result;
  }

  private async evaluateRule(rule: AlertRule & { deleted: boolean }): Promise<readonly AlertEvent[]> {
    const streamId = alertStreamId(rule.id);
    const now = this.clock.now();
    const observations = !rule.deleted && rule.enabled ? await observe(this.db, rule, now) : undefined;
    const { value: events } = await commitWork(
      this.store,
      // The rule's stream is the correlation of what its alerts cause (the messages the relay publishes).
      { key: streamId, metadata: { correlationId: streamId } },
      async (work) => {
        const decided = await work.decide(streamId, alertsDecider, {
          type: 'EvaluateRule',
          rule,
          observations,
          now: now.toISOString(),
          alertId: (ruleId, subject, n) => deterministicId('alert', ruleId, subject, String(n)),
        });
        return decided.events;
      },
      // A conflict is another evaluator's decision: this one moves on (the rule is looked at again next round).
      { maxAttempts: 1 },
    );
    if (rule.deleted) await this.rules.retire(rule.id);
    return events;
  }
}
