import fs from 'node:fs/promises';
import path from 'node:path';
import type { CheckResult } from './check-result';
import { runTool } from '../tools/tool-process';

interface ActionlintError {
  message: string;
  filepath: string;
  line: number;
  column: number;
  kind: string;
}

/**
 * actionlint over every workflow in `dir` (`*.yml`, `*.yaml`): one problem
 * per finding, `file:line:col: message [rule]`. No workflow at all fails:
 * the CI the README promises must exist.
 */
export async function workflowLint(options: { actionlint: string; dir: string; root: string }): Promise<CheckResult> {
  const shown = path.relative(options.root, options.dir) || options.dir;
  const name = `${shown}: actionlint`;
  const files = (await fs.readdir(options.dir).catch(() => []))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(options.dir, f));
  if (files.length === 0) return { name, ok: false, problems: [`no workflow files in ${shown}`] };
  // shellcheck and pyflakes are used when on the PATH; neither is required (their absence is not a finding).
  const output = await runTool(options.actionlint, ['-format', '{{json .}}', ...files], { cwd: options.root });
  let errors: ActionlintError[];
  try {
    errors = JSON.parse(output.stdout || '[]') as ActionlintError[];
  } catch {
    return { name, ok: false, problems: [`actionlint exited ${output.code}: ${`${output.stdout}${output.stderr}`.trim().split('\n').slice(-3).join(' / ')}`] };
  }
  const problems = errors.map((e) => `${path.relative(options.root, path.resolve(options.root, e.filepath))}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
  if (output.code !== 0 && problems.length === 0) problems.push(`actionlint exited ${output.code}: ${output.stderr.trim()}`);
  return { name, ok: problems.length === 0, problems };
}
