import type { Knex } from 'knex';
import { z } from 'zod';
import { defineRoute, integerParameter, problemSchema, type Clock, type Route } from '@shop/platform';
import type { ReadModels } from '../read-models/read-models';
import { ALERT_RULE_SETTINGS, METRICS, SEVERITIES, type AlertRule } from './alert-rule';
import type { AlertRulesStore } from './alert-rules-store';
import { listAlerts } from './read-models/alerts/query';

const ADMIN = ['admin'] as const;
const tags = ['alerts'];

const AlertRuleView = z
  .object({
    id: z.string(),
    version: z.number().int(),
    name: z.string(),
    metric: z.enum(METRICS),
    comparator: z.enum(['above', 'below']),
    threshold: z.number(),
    windowMinutes: z.number().int(),
    minSamples: z.number().int(),
    sku: z.string().optional(),
    severity: z.enum(SEVERITIES),
    enabled: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'AlertRule' });

const AlertView = z
  .object({
    id: z.string(),
    ruleId: z.string(),
    ruleName: z.string(),
    subject: z.string().describe("'' for a platform-wide figure, else the SKU of a stock rule."),
    severity: z.string(),
    metric: z.string(),
    comparator: z.string(),
    threshold: z.number(),
    windowMinutes: z.number().int(),
    state: z.enum(['raised', 'resolved']),
    value: z.number().describe('The value measured when the alert was raised.'),
    samples: z.number().int(),
    message: z.string(),
    raisedAt: z.string(),
    resolvedAt: z.string().nullable(),
    resolvedValue: z.number().nullable(),
    resolveReason: z.string().nullable(),
  })
  .meta({ id: 'Alert' });

const RuleParams = z.object({ id: z.uuid() });
/** `If-Match: "3"` (the ETag of a rule) or a bare `3`. */
const IfMatch = z.object({
  'if-match': z
    .string()
    .regex(/^(W\/)?"?\d{1,9}"?$/, 'If-Match is the ETag of the rule, e.g. "3"')
    .transform((v) => Number(v.replace(/\D/g, '')))
    .optional(),
});

const etag = (rule: AlertRule) => ({ ETag: `"${rule.version}"` });

/** Alert rule CRUD and the alert lists (admins). */
export function alertRoutes(db: Knex, rules: AlertRulesStore, readModels: ReadModels, clock: Clock): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/alerts/rules',
      summary: 'Create an alert rule',
      description:
        'A threshold over a sliding window, e.g. `{ "name": "rejections", "metric": "rejection_rate", "comparator": "above", "threshold": 0.2, "windowMinutes": 5, "minSamples": 10 }` or `{ "name": "low stock", "metric": "stock_available", "comparator": "below", "threshold": 5 }`. The evaluator raises and resolves alerts as events (`analytics.alert-raised` / `analytics.alert-resolved`).',
      tags,
      auth: ADMIN,
      request: { body: ALERT_RULE_SETTINGS },
      responses: { 201: AlertRuleView },
      handler: async ({ body }) => {
        const rule = await rules.create(body, clock.now());
        return { status: 201, body: rule, headers: { Location: `/v1/alerts/rules/${rule.id}`, ...etag(rule) } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/alerts/rules',
      summary: 'List the alert rules',
      tags,
      auth: ADMIN,
      responses: { 200: z.object({ items: z.array(AlertRuleView) }).meta({ id: 'AlertRules' }) },
      handler: async () => ({ status: 200, body: { items: await rules.list() } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/alerts/rules/:id',
      summary: 'Get an alert rule',
      tags,
      auth: ADMIN,
      request: { params: RuleParams },
      responses: { 200: AlertRuleView },
      handler: async ({ params }) => {
        const rule = await rules.get(params.id);
        return { status: 200, body: rule, headers: etag(rule) };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/alerts/rules/:id',
      summary: 'Replace an alert rule',
      description:
        "Its alerts raised under the previous version are resolved (`rule-changed`) and re-raised if the new rule holds. With `If-Match` (the rule's ETag) the change applies only to that version, else 409.",
      tags,
      auth: ADMIN,
      request: { params: RuleParams, headers: IfMatch, body: ALERT_RULE_SETTINGS },
      responses: { 200: AlertRuleView },
      handler: async ({ params, headers, body }) => {
        const rule = await rules.replace(params.id, body, clock.now(), headers['if-match']);
        return { status: 200, body: rule, headers: etag(rule) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/alerts/rules/:id',
      summary: 'Delete an alert rule',
      description: 'Its raised alerts are resolved (`rule-deleted`) by the next evaluation; its alert history stays.',
      tags,
      auth: ADMIN,
      request: { params: RuleParams },
      responses: { 204: null },
      handler: async ({ params }) => {
        await rules.delete(params.id, clock.now());
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/alerts',
      summary: 'Alerts, newest first',
      description: '`state=active`: raised now; `state=resolved`: resolved ones; no state: both.',
      tags,
      auth: ADMIN,
      request: {
        query: z.object({
          state: z.enum(['active', 'resolved']).optional(),
          ruleId: z.uuid().optional(),
          limit: integerParameter(z.number().int().min(1).max(500)).default(50),
          minPosition: integerParameter(z.number().int().min(0)).optional(),
        }),
      },
      responses: { 200: z.object({ items: z.array(AlertView) }).meta({ id: 'Alerts' }), 409: problemSchema },
      handler: async ({ query }) => {
        await readModels.reached(['alerts'], query.minPosition);
        const items = await listAlerts(db, { limit: query.limit, ...(query.state ? { state: query.state } : {}), ...(query.ruleId ? { ruleId: query.ruleId } : {}) });
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/alerts/history',
      summary: 'Alert history (raised and resolved), newest first',
      tags,
      auth: ADMIN,
      request: { query: z.object({ ruleId: z.uuid().optional(), limit: integerParameter(z.number().int().min(1).max(500)).default(100) }) },
      responses: { 200: z.object({ items: z.array(AlertView) }).meta({ id: 'AlertHistory' }) },
      handler: async ({ query }) => ({
        status: 200,
        body: { items: await listAlerts(db, { limit: query.limit, ...(query.ruleId ? { ruleId: query.ruleId } : {}) }) },
      }),
    }),
  ];
}
