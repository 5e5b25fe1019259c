import { z } from 'zod';
import { Sku } from '@shop/contracts';

/**
 * What a rule can watch. Each metric is measured over the rule's sliding
 * window ending now, from the projections (so at the resolution of the
 * projection it reads: minutes for the funnel, exact end times for sagas):
 *
 * - `rejection_rate`: rejected / (confirmed + rejected), 0..1; samples = confirmed + rejected.
 * - `orders_placed`: orders placed in the window; samples = the same count.
 * - `saga_p95_ms`: p95 duration of place-order sagas that ended in the window; samples = those sagas.
 * - `compensation_rate`: share of those sagas that needed a compensation, 0..1.
 * - `stock_available`: available stock, per SKU (one alert per SKU; the
 *   window does not apply: it is the current level); samples = 1.
 */
export const METRICS = ['rejection_rate', 'orders_placed', 'saga_p95_ms', 'compensation_rate', 'stock_available'] as const;
export type Metric = (typeof METRICS)[number];

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALERT_RULE_SETTINGS = z
  .object({
    name: z.string().trim().min(1).max(200),
    metric: z.enum(METRICS),
    comparator: z.enum(['above', 'below']).describe('The alert holds while the value is strictly above (or below) the threshold.'),
    threshold: z.number().finite().min(0).max(1e12),
    windowMinutes: z.number().int().min(1).max(1_440).default(5),
    minSamples: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(1)
      .describe('Below this many samples in the window the rule does not hold (a rate over 2 orders is noise).'),
    sku: Sku.optional().describe('stock_available only: watch this SKU; every SKU when absent.'),
    severity: z.enum(SEVERITIES).default('warning'),
    enabled: z.boolean().default(true),
  })
  .superRefine((r, ctx) => {
    if (r.sku !== undefined && r.metric !== 'stock_available') {
      ctx.addIssue({ code: 'custom', path: ['sku'], message: 'sku applies to the stock_available metric only' });
    }
    if ((r.metric === 'rejection_rate' || r.metric === 'compensation_rate') && r.threshold > 1) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: `${r.metric} is a ratio between 0 and 1` });
    }
  });

export type AlertRuleSettings = z.output<typeof ALERT_RULE_SETTINGS>;

export interface AlertRule extends AlertRuleSettings {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** One measured value of a rule's metric: for `subject` ('' platform-wide, else a SKU). */
export interface Observation {
  subject: string;
  value: number;
  samples: number;
}

export function holds(rule: Pick<AlertRuleSettings, 'comparator' | 'threshold' | 'minSamples'>, o: Observation): boolean {
  if (o.samples < rule.minSamples) return false;
  return rule.comparator === 'above' ? o.value > rule.threshold : o.value < rule.threshold;
}

const percent = (v: number) => `${(v * 100).toFixed(1)}%`;

/** A sentence an operator reads on the dashboard. */
export function describeAlert(rule: AlertRuleSettings, o: Observation): string {
  const word = rule.comparator === 'above' ? 'above' : 'below';
  switch (rule.metric) {
    case 'rejection_rate':
      return `rejection rate ${percent(o.value)} is ${word} ${percent(rule.threshold)} over ${rule.windowMinutes} min (${o.samples} orders)`;
    case 'compensation_rate':
      return `compensation rate ${percent(o.value)} is ${word} ${percent(rule.threshold)} over ${rule.windowMinutes} min (${o.samples} sagas)`;
    case 'saga_p95_ms':
      return `saga p95 ${Math.round(o.value)} ms is ${word} ${rule.threshold} ms over ${rule.windowMinutes} min (${o.samples} sagas)`;
    case 'orders_placed':
      return `${o.value} orders placed in ${rule.windowMinutes} min is ${word} ${rule.threshold}`;
    case 'stock_available':
      return `stock of ${o.subject} (${o.value} available) is ${word} ${rule.threshold}`;
  }
}
