import fs from 'node:fs/promises';
import path from 'node:path';
import { serviceCommand } from '../local/stack';
import { existsSync } from 'node:fs';
import { contextCopies, dockerIgnore, execForm, parseDockerfile, stageLineage as lineage, type DockerStage } from '../images/dockerfile';
import type { CheckResult } from './check-result';
import { SERVICE_FOLDERS } from './service-requirements';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * What checkov cannot know about the images: the service image has a final
 * stage per service whose CMD is exactly the command `npm start` runs
 * (`serviceCommand`, with the tracing preload), so a container and a local
 * process start the same way; every final stage runs as a non-root user on a
 * Node 22 Debian slim base, stops on SIGTERM, and (the services) has a
 * HEALTHCHECK on /healthz.
 */

const last = (instructions: DockerStage['instructions'], keyword: string) => instructions.filter((i) => i.keyword === keyword).at(-1)?.args;

/**
 * Every path a stage COPYs from the build context (the repository root)
 * exists and is not left out by .dockerignore: the build would fail on
 * either, or ship an image without the file.
 */
function contextProblems(file: string, stages: DockerStage[], context: string): string[] {
  const ignored = dockerIgnore(context);
  return stages.flatMap((stage) =>
    contextCopies(stage).flatMap((source) => {
      const relative = source.replace(/^\.\//, '').replace(/\/$/, '');
      if (!existsSync(path.join(context, relative))) return [`${file} stage ${stage.name}: COPY ${source}: no such file in the build context`];
      if (relative !== '.' && ignored(relative)) return [`${file} stage ${stage.name}: COPY ${source}: excluded by .dockerignore`];
      return [];
    }),
  );
}

/** The rules every final (shipped) stage follows. */
function finalStageProblems(file: string, stages: DockerStage[], stage: DockerStage, options: { healthcheck: boolean }): string[] {
  const where = `${file} stage ${stage.name}`;
  const { base, instructions } = lineage(stages, stage);
  const problems: string[] = [];
  if (!/^node:22\.\d+\.\d+-(trixie|bookworm)-slim$/.test(base)) problems.push(`${where}: base image ${base} is not a pinned Node 22 Debian slim image (node:22.x.y-trixie-slim)`);
  const user = last(instructions, 'USER');
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push(`${where}: runs as ${user ?? 'root (no USER)'}; the images run as a non-root user`);
  if (last(instructions, 'STOPSIGNAL') !== 'SIGTERM') problems.push(`${where}: no STOPSIGNAL SIGTERM (the services drain on SIGTERM)`);
  const health = last(instructions, 'HEALTHCHECK');
  if (options.healthcheck && !(health && /\/healthz/.test(health) && !/^NONE\b/i.test(health))) problems.push(`${where}: no HEALTHCHECK on /healthz`);
  if (!execForm(last(instructions, 'CMD'))) problems.push(`${where}: CMD is not in exec form (a shell would swallow SIGTERM)`);
  return problems;
}

/** The service image: one final stage per service, its CMD the local start command. */
export async function serviceDockerfileCheck(file: string, label = path.basename(file), context = REPO_ROOT): Promise<CheckResult> {
  const stages = parseDockerfile(await fs.readFile(file, 'utf8'));
  const problems: string[] = contextProblems(label, stages, context);
  for (const folder of SERVICE_FOLDERS) {
    const stage = stages.find((s) => s.name === folder);
    if (!stage) {
      problems.push(`${label}: no stage ${folder} (docker build --target ${folder})`);
      continue;
    }
    problems.push(...finalStageProblems(label, stages, stage, { healthcheck: true }));
    const cmd = execForm(last(lineage(stages, stage).instructions, 'CMD'));
    const expected = ['node', ...serviceCommand(folder, { tracing: true })];
    if (cmd && JSON.stringify(cmd) !== JSON.stringify(expected)) {
      problems.push(`${label} stage ${folder}: CMD ${JSON.stringify(cmd)} is not the command npm start runs, ${JSON.stringify(expected)}`);
    }
    const copied = lineage(stages, stage).instructions.some((i) => i.keyword === 'COPY' && i.args.split(/\s+/)[0]?.replace(/\/$/, '') === folder);
    if (!copied) problems.push(`${label} stage ${folder}: does not COPY ${folder}/`);
  }
  return { name: `${label}: COPY sources exist, a stage per service, its CMD npm start's command, non-root, Node 22 slim, SIGTERM, HEALTHCHECK`, ok: problems.length === 0, problems };
}

/** Any other image (shop/tools): its final stage follows the same rules, without the HTTP healthcheck. */
export async function toolsDockerfileCheck(file: string, label = path.basename(file), context = REPO_ROOT): Promise<CheckResult> {
  const stages = parseDockerfile(await fs.readFile(file, 'utf8'));
  const final = stages.at(-1);
  const problems = [...contextProblems(label, stages, context), ...(final ? finalStageProblems(label, stages, final, { healthcheck: false }) : [`${label}: no FROM`])];
  return { name: `${label}: COPY sources exist, non-root, Node 22 slim, SIGTERM, exec-form CMD`, ok: problems.length === 0, problems };
}
