import { describe, expect, it } from 'vitest';
import type { AlertRule, Observation } from './alert-rule';
import { decideAlerts, foldAlerts, type AlertEvent, type AlertDecisionContext } from './alerts';

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
const ctx = (streamLength = 0): AlertDecisionContext => ({ now: NOW, streamLength, alertId: (r, s, n) => `alert:${r}:${s}:${n}` });
const obs = (value: number, samples = 20, subject = ''): Observation => ({ subject, value, samples });

/** given(alert events so far).when(rule, observations) -> new events */
const given = (...history: AlertEvent[]) => ({
  when: (r: AlertRule & { deleted?: boolean }, observations: Observation[] | undefined) =>
    decideAlerts(r, foldAlerts(history), observations, ctx(history.length)),
});
const raisedBy = (r: AlertRule, o: Observation) => given().when(r, [o])[0]!;

describe('alert rules', () => {
  describe('with nothing raised', () => {
    it('raises when the value is strictly above the threshold with enough samples', () => {
      const events = given().when(rule(), [obs(0.25)]);
      expect(events).toEqual([
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
      expect(given().when(rule(), [obs(0.2)])).toEqual([]);
      expect(given().when(rule(), [obs(0.1)])).toEqual([]);
      expect(given().when(rule(), [obs(0.9, 9)])).toEqual([]);
    });

    it('raises one alert per subject for a per-SKU rule, only for the SKUs that hold', () => {
      const stock = rule({ metric: 'stock_available', comparator: 'below', threshold: 5, minSamples: 1 });
      const events = given().when(stock, [obs(2, 1, 'SKU-A'), obs(9, 1, 'SKU-B'), obs(0, 1, 'SKU-C')]);
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
      expect(given(raised).when(rule(), [obs(0.3)])).toEqual([]);
      expect(given(raised).when(rule(), [obs(0.5)])).toEqual([]);
    });

    it('resolves it when the value recovers, with the value measured', () => {
      expect(given(raised).when(rule(), [obs(0.1)])).toEqual([
        { type: 'AlertResolved', alertId: raised.alertId, ruleId: rule().id, subject: '', value: 0.1, reason: 'recovered', resolvedAt: NOW },
      ]);
    });

    it('resolves it when the window no longer has enough samples', () => {
      expect(given(raised).when(rule(), [obs(0.5, 3)])).toMatchObject([{ type: 'AlertResolved', reason: 'recovered' }]);
    });

    it('resolves it when the rule is disabled or deleted', () => {
      expect(given(raised).when(rule({ enabled: false }), undefined)).toMatchObject([{ type: 'AlertResolved', reason: 'rule-disabled', value: null }]);
      expect(given(raised).when({ ...rule(), deleted: true }, undefined)).toMatchObject([{ type: 'AlertResolved', reason: 'rule-deleted' }]);
    });

    it('resolves it when the rule changed, and raises a new one if the new rule still holds', () => {
      const events = given(raised).when(rule({ version: 2, threshold: 0.25 }), [obs(0.3)]);
      expect(events.map((e) => [e.type, e.type === 'AlertResolved' ? e.reason : e.ruleVersion])).toEqual([
        ['AlertResolved', 'rule-changed'],
        ['AlertRaised', 2],
      ]);
      expect(events[1]!.alertId).not.toBe(raised.alertId);
    });

    it('raises a new alert (a new id) when it holds again after a resolution', () => {
      const resolved = given(raised).when(rule(), [obs(0.1)])[0]!;
      const again = given(raised, resolved).when(rule(), [obs(0.4)]);
      expect(again).toMatchObject([{ type: 'AlertRaised' }]);
      expect(again[0]!.alertId).not.toBe(raised.alertId);
    });
  });
});
