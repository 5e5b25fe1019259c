import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import type { CheckResult } from '../deploy-check/check-result';
import { infraCheck, REPO_ROOT } from '../deploy-check/infra-check';
import { copyWithExampleSecrets } from '../deploy-check/kustomize-build';
import { ensureDeployCheckTools, type DeployCheckTools } from '../deploy-check/tools';

/**
 * `npm run infra:check` with the real tools (kustomize, kubernetes-validate,
 * checkov, actionlint, built or installed into their caches in beforeAll):
 * the repository's deployment files pass, and each checker fails on a broken
 * variant with a problem line that names the object. The K3s variants are
 * copies of infra/k8s with one file patched; the workflow and the Dockerfile
 * are fixtures in infra/test/fixtures/deploy-check.
 */
const FIXTURES = fileURLToPath(new URL('./fixtures/deploy-check/', import.meta.url));
const run = promisify(execFile);

let tools: DeployCheckTools;
const copies: string[] = [];

beforeAll(async () => {
  tools = await ensureDeployCheckTools((line) => console.log(line));
}, 900_000);

afterAll(async () => {
  await Promise.all(copies.map((dir) => fs.rm(path.dirname(dir), { recursive: true, force: true })));
});

/** A copy of infra/k8s with `patch` applied to the YAML document(s) of `file` (relative to infra/k8s). */
async function brokenK8s(file: string, patch: (doc: ReturnType<typeof parseDocument>) => void): Promise<string> {
  const dir = await copyWithExampleSecrets(path.join(REPO_ROOT, 'infra', 'k8s'));
  copies.push(dir);
  const target = path.join(dir, file);
  const doc = parseDocument(await fs.readFile(target, 'utf8'));
  patch(doc);
  await fs.writeFile(target, doc.toString());
  return dir;
}

const failing = (results: CheckResult[], name: RegExp) => results.filter((r) => !r.ok && name.test(r.name));

/** The problems of the failing checks whose name matches `name`, all lines together. */
function problemsOf(results: CheckResult[], name: RegExp): string[] {
  return failing(results, name).flatMap((r) => r.problems);
}

const APP = ['spec', 'template', 'spec', 'containers', 0];

describe('npm run infra:check', () => {
  it('passes on the repository’s deployment files', async () => {
    const cli = await run('npx', ['tsx', 'infra/deploy-check/check-cli.ts'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 }).catch(
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(cli.stdout).not.toContain('✗');
    expect(cli.stdout).toMatch(/\d+ checks, 0 failed/);
    expect('code' in cli ? cli.code : 0).toBe(0);
  }, 300_000);

  it('exits 1 and prints the problem under the failing check', async () => {
    const k8s = await brokenK8s('base/order-service/deployment.yaml', (doc) => doc.deleteIn([...APP, 'readinessProbe']));
    const cli = await run('npx', ['tsx', 'infra/deploy-check/check-cli.ts', '--only', 'k8s', '--k8s', k8s], { cwd: REPO_ROOT }).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/✗ k8s\/overlays\/k3s: manifest rules.*\n\s+Deployment\/order-service container order-service: no readinessProbe/);
  }, 120_000);
});

describe('the K3s checks fail on a broken copy of infra/k8s', () => {
  const k8sCheck = (k8sDir: string) => infraCheck(tools, { only: ['k8s'], k8sDir });

  it('a service Deployment without a readiness probe (manifest rules)', async () => {
    const results = await k8sCheck(await brokenK8s('base/order-service/deployment.yaml', (doc) => doc.deleteIn([...APP, 'readinessProbe'])));
    for (const overlay of ['k3s', 'dev']) {
      expect(problemsOf(results, new RegExp(`overlays/${overlay}: manifest rules`))).toContain('Deployment/order-service container order-service: no readinessProbe');
    }
  });

  it('an unknown field under strict validation (kubernetes-validate)', async () => {
    const results = await k8sCheck(await brokenK8s('base/order-service/deployment.yaml', (doc) => doc.setIn([...APP, 'imagePullPolicyy'], 'IfNotPresent')));
    const problems = problemsOf(results, /overlays\/k3s: schema/);
    expect(problems.some((p) => p.includes('deployment/order-service') && p.includes("'imagePullPolicyy' was unexpected"))).toBe(true);
  });

  it('an invalid field value the schema does not enumerate: imagePullPolicy Sometimes (manifest rules)', async () => {
    const results = await k8sCheck(await brokenK8s('base/order-service/deployment.yaml', (doc) => doc.setIn([...APP, 'imagePullPolicy'], 'Sometimes')));
    expect(problemsOf(results, /overlays\/k3s: manifest rules/)).toContain('Deployment/order-service container order-service: imagePullPolicy "Sometimes" is not one of Always, IfNotPresent, Never');
  });

  it('a Traefik Middleware with a wrong field (the vendored CRD schema)', async () => {
    const results = await k8sCheck(
      await brokenK8s('overlays/k3s/strip-prefix.yaml', (doc) => {
        doc.setIn(['spec', 'stripPrefix', 'prefix'], '/catalog');
      }),
    );
    expect(problemsOf(results, /overlays\/k3s: schema/)).toContain('Middleware/strip-service-prefix: spec.stripPrefix: unknown field "prefix" (CRD schema)');
  });

  it('a kind with no schema at all, built in or CRD (kubernetes-validate only warns)', async () => {
    const k8s = await brokenK8s('overlays/k3s/kustomization.yaml', (doc) => {
      doc.addIn(['resources'], 'widget.yaml');
    });
    await fs.writeFile(path.join(k8s, 'overlays/k3s/widget.yaml'), 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: gadget\nspec:\n  size: 3\n');
    const results = await k8sCheck(k8s);
    expect(problemsOf(results, /overlays\/k3s: schema/)).toContain('Widget (example.com/v1): no schema, neither built in nor a CRD in crds/');
  });

  it('a container without limits (manifest rules)', async () => {
    const results = await k8sCheck(await brokenK8s('base/jaeger/deployment.yaml', (doc) => doc.deleteIn([...APP, 'resources', 'limits'])));
    const problems = problemsOf(results, /overlays\/k3s: manifest rules/);
    expect(problems).toContain('Deployment/jaeger container jaeger: no resources.limits.cpu');
    expect(problems).toContain('Deployment/jaeger container jaeger: no resources.limits.memory');
  });

  it('a container that may escalate privileges (manifest rules)', async () => {
    const results = await k8sCheck(await brokenK8s('base/jaeger/deployment.yaml', (doc) => doc.setIn([...APP, 'securityContext', 'allowPrivilegeEscalation'], true)));
    expect(problemsOf(results, /overlays\/k3s: manifest rules/)).toContain('Deployment/jaeger container jaeger: securityContext.allowPrivilegeEscalation is not false');
  });

  it('a variable the service’s config requires is not set (manifest rules, from the config shape)', async () => {
    const results = await k8sCheck(
      await brokenK8s('base/order-service/deployment.yaml', (doc) => {
        const env = doc.getIn([...APP, 'env']) as { items: { toJSON(): { name: string } }[] };
        env.items = env.items.filter((item) => item.toJSON().name !== 'AUTH_JWT_SECRET');
      }),
    );
    expect(problemsOf(results, /overlays\/k3s: manifest rules/)).toContain("Deployment/order-service container order-service: AUTH_JWT_SECRET is not set, and order-service's config requires it");
  });

  it('two services under one stream prefix on the shared KurrentDB server (manifest rules)', async () => {
    const results = await k8sCheck(
      await brokenK8s('overlays/k3s/kustomization.yaml', (doc) => {
        const coordinator = (doc.get('configMapGenerator') as { items: { get(key: string): unknown; set(key: string, value: unknown): void }[] }).items.find(
          (item) => item.get('name') === 'coordinator-service',
        )!;
        coordinator.set('literals', doc.createNode(['EVENTSTORE_STREAM_PREFIX=order-service.']));
      }),
    );
    for (const overlay of ['k3s', 'dev']) {
      expect(problemsOf(results, new RegExp(`overlays/${overlay}: manifest rules`))).toContain(
        "Deployment/order-service: EVENTSTORE_STREAM_PREFIX order-service. is also Deployment/coordinator-service's on the same EventStoreDB server: it would read Deployment/coordinator-service's streams as its own",
      );
    }
  });

  it('EVENT_STORE=eventstoredb without EVENTSTORE_URL (manifest rules, the conditional requirement)', async () => {
    const k8s = await brokenK8s('overlays/k3s/kustomization.yaml', () => undefined);
    await fs.writeFile(path.join(k8s, 'overlays/k3s/event-store.env'), 'EVENT_STORE=eventstoredb\n');
    const problems = problemsOf(await k8sCheck(k8s), /overlays\/k3s: manifest rules/);
    expect(problems).toContain("Deployment/order-service container order-service: EVENTSTORE_URL is not set, and order-service's config requires it");
  });

  it('a service without its HorizontalPodAutoscaler in k3s (manifest rules)', async () => {
    const results = await k8sCheck(
      await brokenK8s('base/order-service/kustomization.yaml', (doc) => {
        const resources = doc.get('resources') as { items: { toJSON(): string }[] };
        resources.items = resources.items.filter((item) => item.toJSON() !== 'autoscaler.yaml');
      }),
    );
    expect(problemsOf(results, /overlays\/k3s: manifest rules/)).toContain('Deployment/order-service: no HorizontalPodAutoscaler targets it');
    // dev deletes the autoscalers anyway: it stays clean.
    expect(failing(results, /overlays\/dev: manifest rules/)).toEqual([]);
  });

  it('a checkov finding in the rendered manifests (a container that may run privileged)', async () => {
    const results = await k8sCheck(await brokenK8s('base/jaeger/deployment.yaml', (doc) => doc.setIn([...APP, 'securityContext', 'privileged'], true)));
    expect(problemsOf(results, /overlays\/k3s: checkov/).some((p) => p.startsWith('Deployment.shop.jaeger CKV_K8S_16 '))).toBe(true);
  });
});

describe('the other checks fail on their fixtures', () => {
  it('a workflow with actionlint errors', async () => {
    const results = await infraCheck(tools, { only: ['workflows'], workflowsDir: path.join(FIXTURES, 'workflows-broken') });
    const problems = problemsOf(results, /actionlint/);
    expect(problems).toContain('infra/test/fixtures/deploy-check/workflows-broken/ci.yml:10:3: job "test" needs job "biuld" which does not exist in this workflow [job-needs]');
    expect(problems.some((p) => p.includes('property "node" is not defined'))).toBe(true);
  });

  it('a compose file with a password in it (checkov secrets)', async () => {
    const results = await infraCheck(tools, { only: ['secrets'], composeFile: path.join(FIXTURES, 'leaky-compose.yml'), envFile: path.join(REPO_ROOT, '.env.example') });
    expect(problemsOf(results, /checkov --framework secrets/)).toContain('CKV_SECRET_4 Basic Auth Credentials (infra/test/fixtures/deploy-check/leaky-compose.yml:8)');
  });

  it('a Dockerfile whose container runs as root (checkov)', async () => {
    const results = await infraCheck(tools, { only: ['images'], dockerfiles: [path.join(FIXTURES, 'root.Dockerfile')] });
    expect(problemsOf(results, /checkov --framework dockerfile/).some((p) => p.includes('CKV_DOCKER_3') && p.includes('infra/test/fixtures/deploy-check/root.Dockerfile'))).toBe(true);
  });
});
