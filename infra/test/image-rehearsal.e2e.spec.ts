import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVICE_FOLDERS } from '../deploy-check/service-requirements';
import { runTool } from '../tools/tool-process';

/**
 * The images without Docker (npm run images:rehearse): for each service,
 * exactly what its Dockerfile stages COPY (honouring .dockerignore), the
 * image's production-only `npm ci`, then the migrate job's command against a
 * real PostgreSQL, the image's CMD until /healthz answers, and SIGTERM. A
 * module the production install lacks, a file the Dockerfile forgets to
 * copy, or a CMD that does not start the service fails here. (Building the
 * images themselves is the GitHub workflow's job, where Docker exists.)
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function rehearse(args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await runTool(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra/images/rehearse-image.ts'), ...args], { cwd: REPO_ROOT, timeoutMs: 170_000 });
  return { code, out: stdout + stderr };
}

describe('the images, rehearsed without Docker (production install, migrate, CMD, /healthz, SIGTERM)', () => {
  for (const folder of SERVICE_FOLDERS) {
    it(`shop/${folder}`, async () => {
      const { code, out } = await rehearse(['--service', folder]);
      expect(code, out).toBe(0);
      expect(out).toMatch(/--migrate: exit 0/);
      expect(out).toMatch(/GET \/healthz 200/);
      expect(out).toMatch(/SIGTERM -> exit 143/);
      expect(out).toContain(`rehearse: OK (${folder})`);
    }, 180_000);
  }

  it('shop/tools: the demo-data job and the smoke script load from the production install', async () => {
    const { code, out } = await rehearse(['--tools']);
    expect(code, out).toBe(0);
    expect(out).toContain('rehearse: OK (tools)');
  }, 180_000);
});
