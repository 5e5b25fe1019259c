import path from 'node:path';
import { waitFor } from '@shop/platform/testing';
import { runAudit, stackAuditTargets, type AuditResult } from '../../audit/audit-cli';
import type { LocalStack } from './local-stack';
import { parseExposition } from './prometheus-text';

export const STACK_SERVICES = ['catalog', 'inventory', 'order', 'coordinator', 'analytics'] as const;

/** The auditor on a running local stack, again and again until it is clean or `timeoutMs` passes: the last result. */
export async function auditUntilClean(stack: LocalStack, timeoutMs = 60_000): Promise<AuditResult> {
  const { targets, secret } = await stackAuditTargets(path.join(stack.dataDir, 'stack.json'));
  let result: AuditResult | undefined;
  await waitFor(async () => {
    result = await runAudit(targets, { secret, issuer: 'urn:shop:auth', audience: 'urn:shop:api' });
    return result.ok;
  }, timeoutMs).catch(() => undefined);
  return result!;
}

/** Who consumes what, from each service's own lag gauges: (service, group, topic), sorted. */
export async function consumerSubscriptions(stack: LocalStack): Promise<{ service: string; group: string; topic: string }[]> {
  const found: { service: string; group: string; topic: string }[] = [];
  for (const service of STACK_SERVICES) {
    const samples = parseExposition(await (await fetch(`${stack.url(`${service}-service`)}/metrics`)).text());
    for (const s of samples.filter((x) => x.name === 'shop_bus_consumer_lag_messages')) {
      if (!found.some((x) => x.group === s.labels.group && x.topic === s.labels.topic)) found.push({ service, group: s.labels.group!, topic: s.labels.topic! });
    }
  }
  return found.sort((a, b) => `${a.topic} ${a.group}`.localeCompare(`${b.topic} ${b.group}`));
}
