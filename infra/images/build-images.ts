/**
 * `npm run images`: builds the six images of docker-compose.yml and
 * infra/k8s, tagged with their package versions (shop/<service>:<its
 * package.json version>, shop/tools:<the root version>), from the
 * repository root as the build context.
 *
 *   npm run images                 # docker build, one image after the other
 *   npm run images -- --dry-run    # prints the docker commands only
 *
 * Without a reachable Docker daemon it exits 1 and says so.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { SERVICE_FOLDERS } from '../deploy-check/service-requirements';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface ImageBuild {
  /** `shop/<name>:<version>`. */
  tag: string;
  /** The docker arguments, from the repository root. */
  args: string[];
}

function versionOf(packageDir: string): string {
  const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, packageDir, 'package.json'), 'utf8')) as { version?: string };
  if (!version) throw new Error(`${packageDir || '.'}/package.json has no version`);
  return version;
}

/** The builds: one per service (its stage of service.Dockerfile), and shop/tools. */
export function imageBuilds(): ImageBuild[] {
  const services = SERVICE_FOLDERS.map((folder) => {
    const tag = `shop/${folder}:${versionOf(folder)}`;
    return { tag, args: ['build', '--file', 'infra/images/service.Dockerfile', '--target', folder, '--tag', tag, '.'] };
  });
  const tools = `shop/tools:${versionOf('')}`;
  return [...services, { tag: tools, args: ['build', '--file', 'infra/images/tools.Dockerfile', '--tag', tools, '.'] }];
}

async function dockerReachable(): Promise<string | undefined> {
  try {
    await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 15_000 });
    return undefined;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') return 'the docker command is not installed';
    return (e.stderr ?? e.message).trim().split('\n').slice(-1)[0] ?? 'docker version failed';
  }
}

function docker(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, DOCKER_BUILDKIT: '1' } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker ${args.join(' ')} exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false } } });
  const builds = imageBuilds();
  if (values['dry-run']) {
    for (const build of builds) console.log(`docker ${build.args.join(' ')}`);
    return;
  }
  const unreachable = await dockerReachable();
  if (unreachable) {
    console.error(`images: no Docker daemon to build with (${unreachable}). Start Docker Engine (or Docker Desktop), or run with --dry-run to see the commands.`);
    process.exit(1);
  }
  for (const build of builds) {
    console.log(`images: building ${build.tag}`);
    await docker(build.args);
  }
  console.log(`images: built ${builds.map((b) => b.tag).join(', ')}`);
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  main().catch((err: unknown) => {
    console.error(`images: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
