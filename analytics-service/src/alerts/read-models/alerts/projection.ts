import type { Projection } from '@shop/platform';
import { alertEventCodec } from '../../alerts';

/**
 * Read model `alerts`: every alert with its state (raised, then resolved),
 * from the `alert-<ruleId>` streams the evaluator writes, each event read
 * back with the alert codec (a corrupt one is an error). Idempotent: a
 * raise inserts the alert's row once (keyed by alert id), a resolution only
 * moves a raised row to resolved.
 */
export const alertsProjection: Projection = {
  name: 'alerts',
  filter: { categories: ['alert'] },
  readsMetadata: false,
  tables: {
    alerts: (t) => `
      create table ${t} (
        alert_id uuid primary key,
        rule_id uuid not null,
        rule_name text not null,
        subject text not null,
        severity text not null,
        metric text not null,
        comparator text not null,
        threshold double precision not null,
        window_minutes int not null,
        value double precision not null,
        samples bigint not null,
        message text not null,
        state text not null,
        raised_at timestamptz not null,
        resolved_at timestamptz,
        resolved_value double precision,
        resolve_reason text,
        position bigint not null
      );
      create index on ${t} (state, raised_at desc);
      create index on ${t} (rule_id, raised_at desc)`,
  },
  async apply(event, { trx, table }) {
    const e = alertEventCodec.decode(event);
    if (e.type === 'AlertRaised') {
      await trx(table('alerts'))
        .insert({
          alert_id: e.alertId,
          rule_id: e.ruleId,
          rule_name: e.ruleName,
          subject: e.subject,
          severity: e.severity,
          metric: e.metric,
          comparator: e.comparator,
          threshold: e.threshold,
          window_minutes: e.windowMinutes,
          value: e.value,
          samples: e.samples,
          message: e.message,
          state: 'raised',
          raised_at: e.raisedAt,
          position: event.position,
        })
        .onConflict('alert_id')
        .ignore();
    } else {
      await trx(table('alerts'))
        .where({ alert_id: e.alertId, state: 'raised' })
        .update({ state: 'resolved', resolved_at: e.resolvedAt, resolved_value: e.value, resolve_reason: e.reason });
    }
  },
};
