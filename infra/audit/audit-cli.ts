/**
 * npm run audit -- [--stack-file FILE | --gateway URL] [--json]
 *
 * The cross-service invariant auditor. It asks each service through its own
 * admin API (`audit-snapshot.ts`) and checks that the five agree
 * (`audit-checks.ts`): every order terminal and its payment consistent with
 * its status; every saga ended and agreeing with its order; per SKU
 * received = available + reserved + sold, sold = the confirmed quantities
 * net of cancellations, nothing reserved without an open order; the
 * inventory's read model equal to its streams; analytics' counts, revenue
 * and stock equal to the services' own; every outbox, consumer group and
 * projection lag 0. Run it on an idle stack.
 *
 * Prints each violation with the ids to look at, then one JSON summary line;
 * exits 1 on any violation, 2 when it could not read a service.
 *
 * Where: `--stack-file` (default `.data/stack.json`, what `npm start`
 * writes; the signing key from `credentials.json` beside it), or
 * `--gateway URL` (compose's Traefik or the K3s ingress) with
 * `AUTH_JWT_SECRET` (and `AUTH_ISSUER`, `AUTH_AUDIENCE`) in the environment.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { adminAccess, adminToken, stackTargets, type AdminAuth } from '../deploy/admin-access';
import { auditChecks, type Violation } from './audit-checks';
import { collectSnapshot, type AuditTargets } from './audit-snapshot';

export interface AuditResult {
  ok: boolean;
  violations: Violation[];
  summary: { orders: number; sagas: number; skus: number; lagGauges: number; violations: number; byCheck: Record<string, number>; ms: number };
}

/** Reads every service, runs every check. */
export async function runAudit(targets: AuditTargets, auth: AdminAuth): Promise<AuditResult> {
  const started = performance.now();
  const token = await adminToken(auth, 'auditor');
  const snapshot = await collectSnapshot(targets, token);
  const violations = auditChecks(snapshot);
  const byCheck: Record<string, number> = {};
  for (const v of violations) byCheck[v.check] = (byCheck[v.check] ?? 0) + 1;
  return {
    ok: violations.length === 0,
    violations,
    summary: {
      orders: snapshot.orders.length,
      sagas: snapshot.sagas.length,
      skus: snapshot.stock.length,
      lagGauges: snapshot.lags.length,
      violations: violations.length,
      byCheck,
      ms: Math.round(performance.now() - started),
    },
  };
}

/** The five services' URLs and the signing key of a local stack, from its `stack.json` and `credentials.json`. */
export const stackAuditTargets: (file: string) => Promise<{ targets: AuditTargets; secret: string }> = stackTargets;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'stack-file': { type: 'string' }, gateway: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const { targets, auth } = await adminAccess({ stackFile: values['stack-file'], gateway: values.gateway });
  let result: AuditResult;
  try {
    result = await runAudit(targets, auth);
  } catch (err) {
    console.error(`audit: could not read the services: ${(err as Error).message}`);
    return 2;
  }
  if (values.json) console.log(JSON.stringify(result));
  else {
    for (const v of result.violations) console.log(`VIOLATION [${v.check}] ${v.message}`);
    console.log(JSON.stringify({ audit: result.ok ? 'clean' : 'violations', ...result.summary }));
  }
  return result.ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`audit: ${(err as Error).message}`);
      process.exit(2);
    },
  );
}
