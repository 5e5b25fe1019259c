/**
 * A Dockerfile as stages of instructions: what infra:check's image rules
 * and the image rehearsal (images:rehearse) read. Enough of the syntax for
 * the repository's Dockerfiles: continuation lines, comments, `FROM image
 * AS name`, `${ARG}` defaults in FROM.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface DockerStage {
  name: string;
  /** The FROM image, ARG defaults expanded; another stage's name when built on it. */
  from: string;
  instructions: Array<{ keyword: string; args: string }>;
}

/** Stages of a Dockerfile: continuation lines joined, comments dropped, `${ARG}` in FROM replaced by the ARG's default. */
export function parseDockerfile(text: string): DockerStage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'ARG' && stages.length === 0) {
      const [name, value] = rest.split('=');
      if (name && value !== undefined) args.set(name.trim(), value.trim());
      continue;
    }
    if (upper === 'FROM') {
      const [image = '', as, name] = rest.replace(/--platform=\S+\s*/, '').split(/\s+/);
      const from = image.replace(/\$\{?(\w+)\}?/g, (_, arg: string) => args.get(arg) ?? `\${${arg}}`);
      stages.push({ name: as?.toUpperCase() === 'AS' && name ? name : `#${stages.length}`, from, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword: upper, args: rest });
  }
  return stages;
}

/** A stage's instructions with those of the stages it is built on, oldest first, and its base image. */
export function stageLineage(stages: DockerStage[], stage: DockerStage): { base: string; instructions: DockerStage['instructions'] } {
  const parent = stages.find((s) => s.name === stage.from && s !== stage);
  if (!parent) return { base: stage.from, instructions: stage.instructions };
  const up = stageLineage(stages, parent);
  return { base: up.base, instructions: [...up.instructions, ...stage.instructions] };
}

/** An exec-form (JSON array) CMD or ENTRYPOINT's words; undefined for the shell form. */
export function execForm(args: string | undefined): string[] | undefined {
  if (!args?.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** .dockerignore's patterns: a path is excluded when it or one of its parent directories matches one. */
export function dockerIgnore(context: string): (relative: string) => boolean {
  const patterns = readFileSync(path.join(context, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/^\/+|\/+$/g, ''));
  return (relative) => {
    const parts = relative.split('/');
    return parts.some((_, i) => {
      const candidate = parts.slice(0, i + 1).join('/');
      // path.matchesGlob: experimental on Node 20 (a warning), stable on 22.
      return patterns.some((p) => path.matchesGlob(candidate, p));
    });
  };
}

/** The build-context paths a stage COPYs (not those `--from` another stage). */
export function contextCopies(stage: DockerStage): string[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' && !/(^|\s)--from=/.test(i.args))
    .flatMap((i) => {
      const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      return words.slice(0, -1);
    });
}
