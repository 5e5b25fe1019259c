import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceDockerfileCheck, toolsDockerfileCheck } from '../deploy-check/dockerfile-rules';

/**
 * The image rules of npm run infra:check (infra/deploy-check/dockerfile-rules.ts):
 * the repository's Dockerfiles pass; a copy with one line broken fails,
 * naming the stage and what is wrong.
 */
const SERVICE = fileURLToPath(new URL('../images/service.Dockerfile', import.meta.url));
const TOOLS = fileURLToPath(new URL('../images/tools.Dockerfile', import.meta.url));

describe('infra:check image rules', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockerfile-rules-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A copy of `file` with `from` replaced by `to` (which must occur). */
  const broken = (file: string, from: string | RegExp, to: string) => {
    const text = fs.readFileSync(file, 'utf8');
    const patched = text.replace(from, to);
    expect(patched, `the fixture's patch applies to ${path.basename(file)}`).not.toBe(text);
    const out = path.join(dir, `${Math.random().toString(36).slice(2)}.Dockerfile`);
    fs.writeFileSync(out, patched);
    return out;
  };

  it("passes the repository's service and tools Dockerfiles", async () => {
    const service = await serviceDockerfileCheck(SERVICE);
    expect(service.problems).toEqual([]);
    expect(service.ok).toBe(true);
    expect((await toolsDockerfileCheck(TOOLS)).problems).toEqual([]);
  });

  it("fails a service stage whose CMD is not npm start's command (the tracing preload dropped)", async () => {
    const file = broken(SERVICE, '"--import", "./platform/src/observability/register-tracing.mjs", "order-service/src/main.ts"', '"order-service/src/main.ts"');
    const result = await serviceDockerfileCheck(file, 'service.Dockerfile');
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/stage order-service: CMD .* is not the command npm start runs/);
  });

  it('fails a missing service stage, a root user, a base other than Node 22 slim, and no healthcheck', async () => {
    const noStage = await serviceDockerfileCheck(broken(SERVICE, 'FROM app AS analytics-service', 'FROM app AS analytics'), 'service.Dockerfile');
    expect(noStage.problems).toContain('service.Dockerfile: no stage analytics-service (docker build --target analytics-service)');
    const root = await serviceDockerfileCheck(broken(SERVICE, /^USER node$/m, 'USER root'), 'service.Dockerfile');
    expect(root.problems.join('\n')).toMatch(/stage catalog-service: runs as root/);
    const alpine = await serviceDockerfileCheck(broken(SERVICE, 'node:22.23.5-trixie-slim', 'node:22-alpine'), 'service.Dockerfile');
    expect(alpine.problems.join('\n')).toMatch(/base image node:22-alpine is not a pinned Node 22 Debian slim image/);
    const node20 = await toolsDockerfileCheck(broken(TOOLS, 'node:22.23.5-trixie-slim', 'node:20.19.5-trixie-slim'), 'tools.Dockerfile');
    expect(node20.problems.join('\n')).toMatch(/base image node:20\.19\.5-trixie-slim/);
    const unhealthy = await serviceDockerfileCheck(broken(SERVICE, /^HEALTHCHECK[\s\S]*?\n(?=\n)/m, 'HEALTHCHECK NONE\n'), 'service.Dockerfile');
    expect(unhealthy.problems.join('\n')).toMatch(/stage inventory-service: no HEALTHCHECK on \/healthz/);
  });

  it('fails a COPY of a file that does not exist, or that .dockerignore leaves out of the build context', async () => {
    const missing = await toolsDockerfileCheck(broken(TOOLS, 'COPY infra/local/demo-data.ts infra/local/demo-data.ts', 'COPY infra/local/demo-data-loader.ts infra/local/demo-data.ts'), 'tools.Dockerfile');
    expect(missing.problems.join('\n')).toMatch(/stage tools: COPY infra\/local\/demo-data-loader\.ts: no such file in the build context/);
    const ignored = await serviceDockerfileCheck(broken(SERVICE, 'COPY tsconfig.json ./', 'COPY tsconfig.json ./\nCOPY node_modules/ node_modules/'), 'service.Dockerfile');
    expect(ignored.problems.join('\n')).toMatch(/stage app: COPY node_modules\/: excluded by \.dockerignore/);
  });

  it('fails a shell-form CMD (the shell, not the service, would get SIGTERM)', async () => {
    const result = await toolsDockerfileCheck(broken(TOOLS, /^CMD \[.*\]$/m, 'CMD node --import tsx infra/deploy/demo-data-job.ts'), 'tools.Dockerfile');
    expect(result.problems.join('\n')).toMatch(/CMD is not in exec form/);
  });
});
