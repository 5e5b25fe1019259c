/**
 * npm run infra:check    every static check of the deployment files: the K3s
 *                        overlays (kustomize build, strict schemas, the
 *                        manifest rules, checkov), docker-compose.yml (schema
 *                        and cross-checks, Prometheus config), the Dockerfiles
 *                        (checkov), the workflows (actionlint), a secrets scan
 *
 * Options (paths default to the repository's files):
 *   --only k8s,compose,images,workflows,secrets   run these groups only
 *   --k8s DIR            the kustomize tree (base/, overlays/k3s, overlays/dev, crds/)
 *   --compose FILE       the compose file; --env-file FILE its env file (default: .env.example beside it)
 *   --prometheus FILE    the compose stack's Prometheus config (default: infra/compose/prometheus.yml)
 *   --workflows DIR      the GitHub Actions workflows
 *   --dockerfile FILE    a Dockerfile (repeatable; default: infra/images/*.Dockerfile)
 *
 * Builds or installs the pinned tools first when they are not cached (see
 * `npm run infra:tools`). Prints one line per check and its problems under
 * it; exits 1 when any check fails or could not run.
 */
import { parseArgs } from 'node:util';
import type { CheckResult } from './check-result';
import { CHECK_GROUPS, infraCheck, type CheckGroup } from './infra-check';
import { deployCheckTools, isCheckResult } from './tools';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    k8s: { type: 'string' },
    compose: { type: 'string' },
    'env-file': { type: 'string' },
    prometheus: { type: 'string' },
    workflows: { type: 'string' },
    dockerfile: { type: 'string', multiple: true },
  },
});

function groups(text: string | undefined): CheckGroup[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((g) => g.trim()).filter(Boolean);
  const unknown = names.filter((g) => !(CHECK_GROUPS as readonly string[]).includes(g));
  if (unknown.length > 0) {
    process.stderr.write(`--only: unknown group ${unknown.join(', ')} (groups: ${CHECK_GROUPS.join(', ')})\n`);
    process.exit(2);
  }
  return names as CheckGroup[];
}

function print(result: CheckResult): void {
  const mark = result.skipped ? '-' : result.ok ? '✓' : '✗';
  process.stdout.write(`  ${mark} ${result.name}${result.skipped ? `: skipped: ${result.skipped}` : ''}\n`);
  for (const problem of result.problems) process.stdout.write(`      ${problem}\n`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const only = groups(values.only);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  process.stdout.write('Deployment files\n');
  const tools = await deployCheckTools(log);
  let results: CheckResult[];
  if (isCheckResult(tools)) {
    results = [tools];
  } else {
    results = await infraCheck(tools, {
      ...(only ? { only } : {}),
      ...(values.k8s ? { k8sDir: values.k8s } : {}),
      ...(values.compose ? { composeFile: values.compose } : {}),
      ...(values['env-file'] ? { envFile: values['env-file'] } : {}),
      ...(values.prometheus ? { prometheusConfig: values.prometheus } : {}),
      ...(values.workflows ? { workflowsDir: values.workflows } : {}),
      ...(values.dockerfile ? { dockerfiles: values.dockerfile } : {}),
    });
  }
  results.forEach(print);
  const failed = results.filter((r) => !r.ok || r.skipped).length;
  process.stdout.write(`${results.length} checks, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
