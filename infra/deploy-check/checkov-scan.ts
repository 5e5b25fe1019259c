import path from 'node:path';
import type { CheckResult } from './check-result';
import { runTool } from '../tools/tool-process';

/**
 * checkov over the deployment files, with zero failed checks required. Its
 * skips live next to what they excuse (`checkov.io/skipN` annotations in the
 * manifests, `# checkov:skip=` comments in Dockerfiles), each with a reason,
 * so there is no skip list here. `--skip-download`: no policy download from
 * Bridgecrew's platform, only the checks checkov ships.
 */

interface FailedCheck {
  check_id: string;
  check_name: string;
  resource: string;
  file_abs_path?: string;
  file_path: string;
  file_line_range?: [number, number];
}

interface Report {
  check_type?: string;
  results?: { failed_checks?: FailedCheck[] };
  summary?: { parsing_errors?: number };
}

export type CheckovFramework = 'kubernetes' | 'dockerfile' | 'secrets';

/**
 * One checkov run: `framework` over `files` (and `dirs`). Failed checks are
 * problem lines naming the check, the object (checkov's resource, e.g.
 * `Deployment.shop.order-service`) and where it is.
 */
export async function checkovScan(options: {
  checkov: string;
  framework: CheckovFramework;
  files?: readonly string[];
  dirs?: readonly string[];
  /** Path regexes checkov leaves out (`--skip-path`). */
  skipPaths?: readonly string[];
  label: string;
  /** Paths in problem lines are shown relative to this. */
  root: string;
  /** How to show a scanned file that is not the repository's (a rendered overlay in a temporary directory). */
  fileNames?: Readonly<Record<string, string>>;
}): Promise<CheckResult> {
  const name = `${options.label}: checkov --framework ${options.framework}`;
  const targets = [...(options.files ?? []).flatMap((f) => ['-f', f]), ...(options.dirs ?? []).flatMap((d) => ['-d', d])];
  if (targets.length === 0) return { name, ok: false, problems: ['nothing to scan'] };
  const output = await runTool(options.checkov, [
    '--framework',
    options.framework,
    ...targets,
    ...(options.skipPaths ?? []).flatMap((p) => ['--skip-path', p]),
    '--compact',
    '--quiet',
    '--skip-download',
    '--output',
    'json',
  ]);
  let reports: Report[];
  try {
    const parsed = JSON.parse(output.stdout) as Report | Report[];
    reports = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return { name, ok: false, problems: [`checkov exited ${output.code} without a JSON report: ${output.stderr.trim().split('\n').slice(-3).join(' / ')}`] };
  }
  const problems: string[] = [];
  for (const report of reports) {
    if (report.summary?.parsing_errors) problems.push(`checkov could not parse ${report.summary.parsing_errors} file(s) (${report.check_type ?? options.framework})`);
    for (const failed of report.results?.failed_checks ?? []) {
      const file = failed.file_abs_path ? (options.fileNames?.[failed.file_abs_path] ?? path.relative(options.root, failed.file_abs_path)) : failed.file_path;
      const line = failed.file_line_range ? `:${failed.file_line_range[0]}` : '';
      // A secret's "resource" is a hash of it: the file and line say where it is.
      const object = options.framework === 'secrets' ? '' : `${failed.resource.split(`${options.root}${path.sep}`).join('')} `;
      problems.push(`${object}${failed.check_id} ${failed.check_name} (${file}${line})`);
    }
  }
  if (output.code !== 0 && problems.length === 0) problems.push(`checkov exited ${output.code}: ${output.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return { name, ok: problems.length === 0, problems };
}
