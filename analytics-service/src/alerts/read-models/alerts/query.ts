import type { Knex } from 'knex';

export interface AlertView {
  id: string;
  ruleId: string;
  ruleName: string;
  subject: string;
  severity: string;
  metric: string;
  comparator: string;
  threshold: number;
  windowMinutes: number;
  state: 'raised' | 'resolved';
  value: number;
  samples: number;
  message: string;
  raisedAt: string;
  resolvedAt: string | null;
  resolvedValue: number | null;
  resolveReason: string | null;
}

interface Row {
  alert_id: string;
  rule_id: string;
  rule_name: string;
  subject: string;
  severity: string;
  metric: string;
  comparator: string;
  threshold: number;
  window_minutes: number;
  state: 'raised' | 'resolved';
  value: number;
  samples: string;
  message: string;
  raised_at: Date;
  resolved_at: Date | null;
  resolved_value: number | null;
  resolve_reason: string | null;
}

/** Alerts newest first: those raised now (`active`), those resolved, or both (the history). */
export async function listAlerts(
  db: Knex,
  options: { state?: 'active' | 'resolved'; ruleId?: string; limit: number },
): Promise<AlertView[]> {
  const q = db('alerts').orderBy('raised_at', 'desc').orderBy('position', 'desc').limit(options.limit);
  if (options.state) void q.where({ state: options.state === 'active' ? 'raised' : 'resolved' });
  if (options.ruleId) void q.where({ rule_id: options.ruleId });
  const rows = (await q) as Row[];
  return rows.map((r) => ({
    id: r.alert_id,
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    subject: r.subject,
    severity: r.severity,
    metric: r.metric,
    comparator: r.comparator,
    threshold: r.threshold,
    windowMinutes: r.window_minutes,
    state: r.state,
    value: r.value,
    samples: Number(r.samples),
    message: r.message,
    raisedAt: r.raised_at.toISOString(),
    resolvedAt: r.resolved_at?.toISOString() ?? null,
    resolvedValue: r.resolved_value,
    resolveReason: r.resolve_reason,
  }));
}
