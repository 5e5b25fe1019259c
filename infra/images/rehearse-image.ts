/**
 * `npm run images:rehearse [-- --service order-service]`: rehearses a
 * service image without Docker, to prove its production install suffices.
 * Into a temporary directory it copies exactly what service.Dockerfile's
 * stages for that service COPY from the build context, honouring
 * .dockerignore; runs the image's `npm ci --omit=dev --ignore-scripts`
 * there; then, against a real embedded PostgreSQL, runs the migrate job's
 * command (`--migrate`, exit 0) and the image's CMD, waits for /healthz to
 * answer 200 and stops it with SIGTERM. Node 22 (the image's) when the CI
 * toolchain cached it, else the machine's node. `--tools` rehearses
 * tools.Dockerfile: its command and the smoke script load from the
 * production install and stop at their configuration.
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createKnex, databaseUrl, EmbeddedPostgresServer, freePort, migrateBus, provisionDatabase } from '@shop/platform';
import { toolCacheDir } from '../tools/tool-cache';
import { dockerIgnore, execForm, parseDockerfile } from './dockerfile';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const SERVICE_DOCKERFILE = path.join(import.meta.dirname, 'service.Dockerfile');
const TOOLS_DOCKERFILE = path.join(import.meta.dirname, 'tools.Dockerfile');

interface Stage {
  name: string;
  base: string;
  /** COPY from the build context: sources (relative to it) and destination (relative to WORKDIR /app). */
  copies: { sources: string[]; dest: string }[];
  fromStages: string[];
  cmd?: string[];
}

/** The Dockerfile's stages, with their context COPYs and exec-form CMD. */
function stagesOf(text: string): Stage[] {
  return parseDockerfile(text).map((stage) => {
    const copies: Stage['copies'] = [];
    const fromStages: string[] = [];
    for (const { args } of stage.instructions.filter((i) => i.keyword === 'COPY')) {
      const words = args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='));
      const paths = words.filter((w) => !w.startsWith('--'));
      if (from) fromStages.push(from.slice('--from='.length));
      else copies.push({ sources: paths.slice(0, -1), dest: paths.at(-1)! });
    }
    const cmd = execForm(stage.instructions.filter((i) => i.keyword === 'CMD').at(-1)?.args);
    return { name: stage.name, base: stage.from, copies, fromStages, ...(cmd ? { cmd } : {}) };
  });
}

/** The stages `target` is built from (its FROM chain and its COPY --from stages), in build order. */
function stageChain(stages: Stage[], target: string, seen = new Set<string>()): Stage[] {
  const stage = stages.find((s) => s.name === target);
  if (!stage || seen.has(target)) return [];
  seen.add(target);
  return [...stageChain(stages, stage.base, seen), ...stage.fromStages.flatMap((s) => stageChain(stages, s, seen)), stage];
}

async function copyFromContext(source: string, dest: string, ignored: (relative: string) => boolean): Promise<number> {
  const from = path.join(REPO_ROOT, source);
  const stat = await fs.stat(from);
  if (!stat.isDirectory()) {
    if (ignored(source)) return 0;
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.copyFile(from, dest);
    return 1;
  }
  let count = 0;
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const relative = path.posix.join(source.replace(/\/$/, ''), entry.name);
    if (ignored(relative)) continue;
    count += await copyFromContext(relative, path.join(dest, entry.name), ignored);
  }
  return count;
}

function nodeBinary(): string {
  const node22 = path.join(toolCacheDir('SHOP_NODE_CACHE', 'node-22.23.5'), 'bin', 'node');
  return existsSync(node22) ? node22 : process.execPath;
}

/**
 * shop/tools: its CMD (the demo-data job) and the smoke script load their
 * whole module graph from the production install and stop at their typed
 * configuration, naming the variables the deployment sets.
 */
async function rehearseTools(app: string, node: string, cmd: string[], work: string): Promise<void> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: path.join(work, 'tmp'), NODE_ENV: 'production', SHOP_ENV: 'production' };
  await fs.mkdir(env.TMPDIR, { recursive: true });
  const smoke = ['--import', 'tsx', 'infra/deploy/smoke-order.ts', '--gateway', 'http://127.0.0.1:9'];
  for (const args of [cmd.slice(1), smoke]) {
    const out = await run(node, args, { cwd: app, env }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code ?? -1, stderr: err.stderr ?? '' }),
    );
    const configError = /AUTH_JWT_SECRET|CATALOG_URL/.test(out.stderr) && !/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/.test(out.stderr);
    console.log(`rehearse: node ${args.join(' ')}: exit ${out.code}, ${configError ? 'stopped at its configuration (module graph loaded)' : out.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    if (!configError) throw new Error(`node ${args.join(' ')} did not load from the production install`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { service: { type: 'string', default: 'order-service' }, tools: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } } });
  const target = values.tools ? 'tools' : values.service;
  const stages = stagesOf(readFileSync(values.tools ? TOOLS_DOCKERFILE : SERVICE_DOCKERFILE, 'utf8'));
  const chain = stageChain(stages, target);
  const cmd = chain.at(-1)?.cmd;
  if (!cmd) throw new Error(`no stage ${target} with a CMD in ${values.tools ? 'tools' : 'service'}.Dockerfile`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), `rehearse-${target}-`));
  // World-traversable: as root, the embedded PostgreSQL runs as the postgres user, which must reach its data directory.
  await fs.chmod(work, 0o755);
  const app = path.join(work, 'app');
  const ignored = dockerIgnore(REPO_ROOT);
  const started = Date.now();
  let files = 0;
  for (const stage of chain) {
    for (const copy of stage.copies) {
      for (const source of copy.sources) {
        const dest = copy.dest.endsWith('/') ? path.join(app, copy.dest, copy.sources.length > 1 || !(await fs.stat(path.join(REPO_ROOT, source))).isDirectory() ? path.basename(source) : '') : path.join(app, copy.dest);
        files += await copyFromContext(source, dest, ignored);
      }
    }
  }
  console.log(`rehearse: copied ${files} files of stages ${chain.map((s) => s.name).join(' > ')} into ${app}`);
  const node = nodeBinary();
  const npmCli = path.join(path.dirname(path.dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  const npm = existsSync(npmCli) ? [process.execPath, npmCli] : ['npm'];
  await run(npm[0]!, [...npm.slice(1), 'ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 64 * 1024 * 1024 });
  console.log(`rehearse: npm ci --omit=dev in ${((Date.now() - started) / 1000).toFixed(1)} s; node ${(await run(node, ['--version'])).stdout.trim()}`);

  if (values.tools) {
    await rehearseTools(app, node, cmd, work);
    if (!values.keep) await fs.rm(work, { recursive: true, force: true });
    console.log('rehearse: OK (tools)');
    return;
  }
  const pg = new EmbeddedPostgresServer({ dataDir: path.join(work, 'pg'), reset: true });
  const admin = await pg.start();
  const child: { process?: ReturnType<typeof spawn> } = {};
  try {
    const db = await provisionDatabase(admin, 'rehearsal');
    // Compose's bus is Kafka; here the Postgres bus stands in, and its schema is the launcher's job (as in `npm start`).
    const bus = await provisionDatabase(admin, 'rehearsal_bus');
    const busKnex = createKnex(bus, { max: 1 });
    await migrateBus(busKnex).finally(() => busKnex.destroy());
    // Only what the image and compose give the container, not this shell's environment.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: path.join(work, 'tmp'), NODE_ENV: 'production', SHOP_ENV: 'production', DATABASE_URL: databaseUrl(db) };
    await fs.mkdir(env.TMPDIR, { recursive: true });
    const mainFile = cmd.find((a) => a.endsWith('/src/main.ts'))!;
    const migrated = await run(node, ['--import', 'tsx', mainFile, '--migrate'], { cwd: app, env });
    console.log(`rehearse: node --import tsx ${mainFile} --migrate: exit 0 (${migrated.stdout.trim()})`);

    const port = await freePort();
    const [command, ...args] = cmd;
    if (command !== 'node') throw new Error(`CMD starts ${command}, not node`);
    const serviceEnv = { ...env, PORT: String(port), HOST: '127.0.0.1', AUTH_JWT_SECRET: 'x'.repeat(48), BUS: 'postgres', BUS_DATABASE_URL: databaseUrl(bus),
      // As compose sets them: the tracing preload registers the OpenTelemetry hooks from the production install (nothing listens: spans are dropped).
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SERVICE_NAME: target, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' };
    const proc = spawn(node, args, { cwd: app, env: serviceEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    child.process = proc;
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 90_000;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      if (res?.status === 200) break;
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the service did not answer /healthz (exit ${proc.exitCode}): ${stderr.slice(-2_000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`rehearse: ${cmd.join(' ')} -> GET /healthz 200 after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const stopAt = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      proc.once('exit', (c) => resolve(c));
      proc.kill('SIGTERM');
    });
    console.log(`rehearse: SIGTERM -> exit ${code} in ${Date.now() - stopAt} ms`);
    // 143 = 128 + SIGTERM: the service host's exit after a graceful stop on that signal.
    if (code !== 143) throw new Error(`the service exited ${code} on SIGTERM: ${stderr.slice(-2_000)}`);
  } finally {
    if (child.process?.exitCode === null) child.process.kill('SIGKILL');
    await pg.stop();
    if (!values.keep) await fs.rm(work, { recursive: true, force: true });
  }
  console.log(`rehearse: OK (${target})`);
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  main().catch((err: unknown) => {
    console.error(`rehearse: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
