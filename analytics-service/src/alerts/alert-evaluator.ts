import type { Knex } from 'knex';
import { WrongExpectedRevisionError, deterministicId, type Clock, type EventStore } from '@shop/platform';
import type { AlertRule } from './alert-rule';
import { observe } from './alert-metrics';
import type { AlertRulesStore } from './alert-rules-store';
import { alertStreamId, decideAlerts, foldAlerts, type AlertEvent } from './alerts';

export interface EvaluationResult {
  raised: number;
  resolved: number;
  /** Rules another evaluator changed first (they are looked at again next round). */
  conflicts: number;
}

/**
 * One round over every rule: fold its alert stream, measure its metric,
 * decide, append at the revision read. Event ids derive from the stream and
 * the event's revision, so a retried append after a lost reply is a no-op,
 * and a concurrent evaluator's append fails on the revision instead of
 * raising the same alert twice.
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

  private async evaluateRule(rule: AlertRule & { deleted: boolean }): Promise<AlertEvent[]> {
    const streamId = alertStreamId(rule.id);
    const history = await this.store.readStream(streamId);
    const raised = foldAlerts(history.map((e) => ({ type: e.type, ...(e.data as object) }) as AlertEvent));
    const now = this.clock.now();
    const active = !rule.deleted && rule.enabled;
    const observations = active ? await observe(this.db, rule, now) : undefined;
    const events = decideAlerts(rule, raised, observations, {
      now: now.toISOString(),
      streamLength: history.length,
      alertId: (ruleId, subject, n) => deterministicId('alert', ruleId, subject, String(n)),
    });
    if (events.length > 0) {
      await this.store.append(
        streamId,
        // The rule's stream is the correlation of what its alerts cause (the messages the relay publishes).
        events.map(({ type, ...data }, i) => ({ id: deterministicId(streamId, String(history.length + i)), type, data, metadata: { correlationId: streamId } })),
        { expectedRevision: history.length === 0 ? 'no_stream' : history.length - 1 },
      );
    }
    if (rule.deleted) await this.rules.retire(rule.id);
    return events;
  }
}
