import { describe, expect, it } from 'vitest';
import { CorruptEventError, deterministicId, type RecordedEvent } from '@shop/platform';
import { DeciderSpecification } from '@shop/platform/testing';
import type { AlertRule, Observation } from './alert-rule';
import { alertEventCodec, alertStreamId, type AlertEvent } from './alerts';
import { alertsDecider, type EvaluateRule } from './decide';

const NOW = '2030-01-01T12:00:00.000Z';
const rule = (over: Partial<AlertRule> = {}): AlertRule => ({
  id: '00000000-0000-4000-8000-000000000001',
  version: 1,
  name: 'rejections',
  metric: 'rejection_rate',
  comparator: 'above',
  threshold: 0.2,
  windowMinutes: 5,
  minSamples: 10,
  severity: 'critical',
  enabled: true,
  createdAt: NOW,
  updatedAt: NOW,
  ...over,
});
const obs = (value: number, samples = 20, subject = ''): Observation => ({ subject, value, samples });
/** One evaluation of the rule on these observations (`undefined`: the rule is disabled or deleted). */
const evaluate = (r: AlertRule & { deleted?: boolean }, observations: Observation[] | undefined): EvaluateRule => ({
  type: 'EvaluateRule',
  rule: r,
  observations,
  now: NOW,
  alertId: (ruleId, subject, n) => `alert:${ruleId}:${subject}:${n}`,
});

const spec = DeciderSpecification.for(alertsDecider);
const raisedBy = (r: AlertRule, o: Observation) => spec.given([]).when(evaluate(r, [o])).decided().events[0]!;

describe('alert rules', () => {
  describe('with nothing raised', () => {
    it('raises when the value is strictly above the threshold with enough samples', () => {
      spec
        .given([])
        .when(evaluate(rule(), [obs(0.25)]))
        .then([
          expect.objectContaining({
            type: 'AlertRaised',
            alertId: `alert:${rule().id}::0`,
            subject: '',
            value: 0.25,
            samples: 20,
            ruleVersion: 1,
            message: 'rejection rate 25.0% is above 20.0% over 5 min (20 orders)',
            raisedAt: NOW,
          }),
        ]);
    });

    it('stays quiet at the threshold, below it, or with too few samples', () => {
      spec.given([]).when(evaluate(rule(), [obs(0.2)])).thenNothing();
      spec.given([]).when(evaluate(rule(), [obs(0.1)])).thenNothing();
      spec.given([]).when(evaluate(rule(), [obs(0.9, 9)])).thenNothing();
    });

    it('raises one alert per subject for a per-SKU rule, only for the SKUs that hold', () => {
      const stock = rule({ metric: 'stock_available', comparator: 'below', threshold: 5, minSamples: 1 });
      const { events } = spec
        .given([])
        .when(evaluate(stock, [obs(2, 1, 'SKU-A'), obs(9, 1, 'SKU-B'), obs(0, 1, 'SKU-C')]))
        .decided();
      expect(events.map((e) => [e.type, e.subject])).toEqual([
        ['AlertRaised', 'SKU-A'],
        ['AlertRaised', 'SKU-C'],
      ]);
      expect(new Set(events.map((e) => e.alertId)).size).toBe(2);
    });
  });

  describe('with an alert raised', () => {
    const raised = raisedBy(rule(), obs(0.3));

    it('does not raise it again while it holds (applying the same observation twice changes nothing)', () => {
      spec.given([raised]).when(evaluate(rule(), [obs(0.3)])).thenNothing();
      spec.given([raised]).when(evaluate(rule(), [obs(0.5)])).thenNothing();
    });

    it('resolves it when the value recovers, with the value measured', () => {
      spec
        .given([raised])
        .when(evaluate(rule(), [obs(0.1)]))
        .then([{ type: 'AlertResolved', alertId: raised.alertId, ruleId: rule().id, subject: '', value: 0.1, reason: 'recovered', resolvedAt: NOW }]);
    });

    it('resolves it when the window no longer has enough samples', () => {
      expect(spec.given([raised]).when(evaluate(rule(), [obs(0.5, 3)])).decided().events).toMatchObject([{ type: 'AlertResolved', reason: 'recovered' }]);
    });

    it('resolves it when the rule is disabled or deleted', () => {
      expect(spec.given([raised]).when(evaluate(rule({ enabled: false }), undefined)).decided().events).toMatchObject([
        { type: 'AlertResolved', reason: 'rule-disabled', value: null },
      ]);
      expect(spec.given([raised]).when(evaluate({ ...rule(), deleted: true }, undefined)).decided().events).toMatchObject([
        { type: 'AlertResolved', reason: 'rule-deleted' },
      ]);
    });

    it('resolves it when the rule changed, and raises a new one if the new rule still holds', () => {
      const { events } = spec
        .given([raised])
        .when(evaluate(rule({ version: 2, threshold: 0.25 }), [obs(0.3)]))
        .decided();
      expect(events.map((e) => [e.type, e.type === 'AlertResolved' ? e.reason : e.ruleVersion])).toEqual([
        ['AlertResolved', 'rule-changed'],
        ['AlertRaised', 2],
      ]);
      expect(events[1]!.alertId).not.toBe(raised.alertId);
    });

    it('raises a new alert (a new id) when it holds again after a resolution', () => {
      const resolved = spec.given([raised]).when(evaluate(rule(), [obs(0.1)])).decided().events[0]!;
      const again = spec.given([raised, resolved]).when(evaluate(rule(), [obs(0.4)])).decided().events;
      expect(again).toMatchObject([{ type: 'AlertRaised' }]);
      expect(again[0]!.alertId).not.toBe(raised.alertId);
    });
  });
});

describe('the alert codec', () => {
  const streamId = alertStreamId(rule().id);
  const stored = (event: AlertEvent, revision: number): RecordedEvent => {
    const { type, ...data } = event;
    return { id: deterministicId(streamId, String(revision)), streamId, revision, position: revision + 1, type, schemaVersion: 1, data, metadata: {}, recordedAt: new Date(NOW) };
  };
  // As the evaluator decides them: alert ids are UUIDs.
  const decide = (given: AlertEvent[], r: AlertRule, observations: Observation[]) =>
    spec.given(given).when({ ...evaluate(r, observations), alertId: (ruleId, subject, n) => deterministicId('alert', ruleId, subject, String(n)) }).decided().events;

  it('reads back what the decider decides, raised and resolved', () => {
    const raised = decide([], rule(), [obs(0.3)]);
    const resolved = decide([...raised], rule(), [obs(0.1)]);
    const events = [...raised, ...resolved];
    expect(events.map((e) => e.type)).toEqual(['AlertRaised', 'AlertResolved']);
    expect(events.map((e, i) => alertEventCodec.decode(stored(e, i)))).toEqual(events);
  });

  it('refuses a stored event that does not match its schema, or of a type it does not know, naming the stream and field', () => {
    const raised = decide([], rule(), [obs(0.3)])[0]!;
    const { type: _type, ...data } = raised;
    const corrupt = { ...stored(raised, 0), data: { ...data, severity: 'urgent' } };
    expect(() => alertEventCodec.decode(corrupt)).toThrow(CorruptEventError);
    expect(() => alertEventCodec.decode(corrupt)).toThrow(new RegExp(`${streamId}.*severity`));
    expect(() => alertEventCodec.decode({ ...stored(raised, 0), type: 'AlertSnoozed' })).toThrow(/not one of AlertRaised, AlertResolved/);
  });
});
