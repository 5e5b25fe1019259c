import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { NotFoundError, ConcurrencyError } from '@shop/platform';
import type { AlertRule, AlertRuleSettings } from './alert-rule';

interface Row {
  id: string;
  version: number;
  settings: AlertRuleSettings;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

const toRule = (r: Row): AlertRule => ({
  ...r.settings,
  id: r.id,
  version: r.version,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** The rules operators manage through the API; the evaluator reads them each round. */
export class AlertRulesStore {
  constructor(private readonly db: Knex) {}

  async create(settings: AlertRuleSettings, now: Date): Promise<AlertRule> {
    const [row] = (await this.db('alert_rules')
      .insert({ id: randomUUID(), version: 1, settings, created_at: now, updated_at: now })
      .returning('*')) as Row[];
    return toRule(row!);
  }

  async list(): Promise<AlertRule[]> {
    const rows = (await this.db('alert_rules').whereNull('deleted_at').orderBy('created_at')) as Row[];
    return rows.map(toRule);
  }

  async get(id: string): Promise<AlertRule> {
    const row = (await this.db('alert_rules').where({ id }).whereNull('deleted_at').first()) as Row | undefined;
    if (!row) throw new NotFoundError(`no alert rule ${id}`);
    return toRule(row);
  }

  /** Replaces the settings; with `expectedVersion`, only if the rule is still at that version (409 otherwise). */
  async replace(id: string, settings: AlertRuleSettings, now: Date, expectedVersion?: number): Promise<AlertRule> {
    const current = await this.get(id);
    if (expectedVersion !== undefined && current.version !== expectedVersion) {
      throw new ConcurrencyError(`alert rule ${id} is at version ${current.version}, not ${expectedVersion}`, {
        version: current.version,
      });
    }
    const [row] = (await this.db('alert_rules')
      .where({ id, version: current.version })
      .whereNull('deleted_at')
      .update({ settings, version: current.version + 1, updated_at: now })
      .returning('*')) as Row[];
    if (!row) throw new ConcurrencyError(`alert rule ${id} changed concurrently; read it again`, {});
    return toRule(row);
  }

  /** Soft delete: the evaluator resolves the rule's raised alerts, then retires it. */
  async delete(id: string, now: Date): Promise<void> {
    const n = await this.db('alert_rules').where({ id }).whereNull('deleted_at').update({ deleted_at: now });
    if (n === 0) throw new NotFoundError(`no alert rule ${id}`);
  }

  /** Rules the evaluator looks at: live ones, and deleted ones not yet retired. */
  async forEvaluation(): Promise<(AlertRule & { deleted: boolean })[]> {
    const rows = (await this.db('alert_rules').where({ retired: false }).orderBy('created_at')) as Row[];
    return rows.map((r) => ({ ...toRule(r), deleted: r.deleted_at !== null }));
  }

  async retire(id: string): Promise<void> {
    await this.db('alert_rules').where({ id }).whereNotNull('deleted_at').update({ retired: true });
  }
}
