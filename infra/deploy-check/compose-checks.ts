/**
 * The checks of docker-compose.yml, over the project as compose-go
 * normalises it (the compose validator's JSON, so anchors, `<<` merges and
 * interpolation are resolved exactly as `docker compose` resolves them):
 * the schema, then the project's own rules. Every problem names the compose
 * service it is about.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { CheckResult } from './check-result';
import { imageBuilds } from '../images/build-images';
import { isKnownVariable, requiredVariables, SERVICE_FOLDERS, streamPrefixProblems } from './service-requirements';
import { outputLines, runTool } from '../tools/tool-process';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
/** The repo's Prometheus configuration: its job names are the ones the alerts and dashboards select on. */
const REPO_PROMETHEUS = path.join(REPO_ROOT, 'infra/observability/prometheus.yml');

/** The parts of a normalised compose service these checks read. */
interface ComposeService {
  image?: string;
  restart?: string;
  command?: string[] | null;
  healthcheck?: { test?: string[] | null; disable?: boolean } | null;
  depends_on?: Record<string, { condition?: string }> | null;
  deploy?: { resources?: { limits?: { cpus?: number | string; memory?: number | string } } } | null;
  networks?: Record<string, unknown> | null;
  environment?: Record<string, string | null> | null;
  volumes?: { type?: string; source?: string; target?: string }[] | null;
}

interface ComposeProject {
  services: Record<string, ComposeService>;
}

function result(name: string, problems: string[]): CheckResult {
  return { name: `compose: ${name}`, ok: problems.length === 0, problems };
}

/** A one-shot job (migrations, demo data): it states `restart: "no"` and is meant to exit. */
function isOneShot(service: ComposeService): boolean {
  return service.restart === 'no';
}

/** The service folder whose code a compose service runs: its image is `shop/<folder>`. */
function serviceFolderOf(service: ComposeService): string | undefined {
  const repository = service.image?.replace(/[@:][^/]*$/, '');
  return SERVICE_FOLDERS.find((folder) => repository === `shop/${folder}`);
}

function setVariables(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== ''));
}

function checkRestartAndHealth(project: ComposeProject): CheckResult {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(project.services)) {
    // Unset means "no" to Docker, but a long-running container without restart is usually a mistake: say which it is.
    if (!service.restart) problems.push(`${name}: no restart policy (unless-stopped for a long-running container, "no" for a one-shot job)`);
    if (isOneShot(service)) continue;
    const test = service.healthcheck?.test ?? [];
    if (service.healthcheck?.disable || test.length === 0 || test[0] === 'NONE') problems.push(`${name}: long-running but has no healthcheck`);
  }
  return result('every long-running service has a healthcheck', problems);
}

function checkDependsOn(project: ComposeProject): CheckResult {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(project.services)) {
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      const target = project.services[dependency];
      if (!target) {
        problems.push(`${name}: depends on ${dependency}, which is not a service`);
        continue;
      }
      const wanted = isOneShot(target) ? 'service_completed_successfully' : 'service_healthy';
      if (condition !== wanted) problems.push(`${name}: depends_on ${dependency} with condition ${condition ?? '(none)'}; expected ${wanted} (${isOneShot(target) ? 'a one-shot job' : 'a long-running service'})`);
    }
  }
  // `docker compose up --wait` fails on an exited one-shot container that no long-running service waits for (docker/compose#10596).
  for (const [name, service] of Object.entries(project.services)) {
    if (!isOneShot(service)) continue;
    const adopted = Object.values(project.services).some((s) => !isOneShot(s) && s.depends_on?.[name]?.condition === 'service_completed_successfully');
    if (!adopted) problems.push(`${name}: a one-shot job no long-running service waits for (service_completed_successfully); docker compose up --wait would fail when it exits`);
  }
  return result('every depends_on waits for health or completion', problems);
}

function checkLimits(project: ComposeProject): CheckResult {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(project.services)) {
    const limits = service.deploy?.resources?.limits;
    if (!limits?.memory) problems.push(`${name}: no memory limit (deploy.resources.limits.memory)`);
    if (!limits?.cpus) problems.push(`${name}: no CPU limit (deploy.resources.limits.cpus)`);
  }
  return result('every container has memory and CPU limits', problems);
}

/**
 * Each database (a postgres image) may share a network only with the
 * services whose DATABASE_URL names it: its service and that service's
 * migrate job. And only one long-running service may use it.
 */
function checkDatabaseNetworks(project: ComposeProject): CheckResult {
  const problems: string[] = [];
  const entries = Object.entries(project.services);
  const databaseHost = (service: ComposeService): string | undefined => {
    const url = service.environment?.DATABASE_URL;
    return url && URL.canParse(url) ? new URL(url).hostname : undefined;
  };
  for (const [db, database] of entries) {
    if (!/^(docker\.io\/)?(library\/)?postgres[:@]/.test(database.image ?? '')) continue;
    const users = entries.filter(([, s]) => databaseHost(s) === db);
    const owners = users.filter(([, s]) => !isOneShot(s)).map(([n]) => n);
    if (owners.length > 1) problems.push(`${db}: used by several services (${owners.join(', ')}); each service has its own database`);
    const allowed = new Set([db, ...users.map(([n]) => n)]);
    for (const network of Object.keys(database.networks ?? {})) {
      for (const [other, service] of entries) {
        if (allowed.has(other) || !(network in (service.networks ?? {}))) continue;
        problems.push(`${other}: on network ${network} of database ${db}, which only its service and migrate job may join`);
      }
    }
  }
  return result("each database's network holds only its service and migrate job", problems);
}

/**
 * What the services' typed configs require is set (service-requirements.ts,
 * from the config shapes, with BUS=kafka's KAFKA_BROKERS), and nothing is set
 * that their configs do not read; a migrate job needs DATABASE_URL.
 */
async function checkEnvironment(project: ComposeProject): Promise<CheckResult> {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(project.services)) {
    const folder = serviceFolderOf(service);
    if (!folder) continue;
    const variables = setVariables(service);
    const required = isOneShot(service) ? ['DATABASE_URL'] : await requiredVariables(folder, variables);
    for (const variable of required) if (!(variable in variables)) problems.push(`${name}: ${variable} is required by ${folder}'s config but not set`);
    for (const variable of Object.keys(service.environment ?? {})) {
      if (!(await isKnownVariable(folder, variable))) problems.push(`${name}: ${variable} is set but ${folder}'s config does not read it`);
    }
  }
  return result("every variable a service's config requires is set (and none it does not know)", problems);
}

/** Services on one EventStoreDB server each have a stream prefix of their own (service-requirements.ts streamPrefixProblems). */
function checkStreamPrefixes(project: ComposeProject): CheckResult {
  const services = Object.entries(project.services).map(([name, service]) => ({ name, environment: setVariables(service) }));
  return result('services sharing an EventStoreDB server have stream prefixes of their own', streamPrefixProblems(services));
}

function checkImageTags(project: ComposeProject): CheckResult {
  const problems: string[] = [];
  const builtTags = new Map(imageBuilds().map((b) => [b.tag.slice(0, b.tag.lastIndexOf(':')), b.tag.slice(b.tag.lastIndexOf(':') + 1)]));
  for (const [name, service] of Object.entries(project.services)) {
    if (!service.image) {
      problems.push(`${name}: no image`);
      continue;
    }
    if (service.image.includes('@sha256:')) continue;
    const lastPart = service.image.split('/').pop()!;
    const tag = lastPart.includes(':') ? lastPart.split(':').pop() : undefined;
    if (!tag) problems.push(`${name}: image ${service.image} has no tag`);
    else if (tag === 'latest') problems.push(`${name}: image ${service.image} uses latest`);
    // The images `npm run images` builds: their tag is the one it gives them (the package's version).
    const own = builtTags.get(service.image.slice(0, service.image.length - (tag ? tag.length + 1 : 0)));
    if (own && tag && tag !== own) problems.push(`${name}: image ${service.image}, but npm run images tags it ${own} (its package.json version)`);
  }
  return result("every image has a pinned tag (the shop images their package's version)", problems);
}

interface PrometheusConfig {
  scrape_configs?: { job_name: string; static_configs?: { targets?: string[] }[] }[];
}

/** The Prometheus service's configuration (the bind mount at its --config.file) has the repo's jobs, each scraping a compose service. */
function checkPrometheusJobs(project: ComposeProject): CheckResult {
  const problems: string[] = [];
  const prometheus = Object.entries(project.services).filter(([, s]) => /^(docker\.io\/)?prom\/prometheus[:@]/.test(s.image ?? ''));
  if (prometheus.length === 0) return result('Prometheus jobs match the repo', ['(project): no prom/prometheus service']);
  const repoJobs = (parseYaml(readFileSync(REPO_PROMETHEUS, 'utf8')) as PrometheusConfig).scrape_configs?.map((j) => j.job_name) ?? [];
  for (const [name, service] of prometheus) {
    const configPath = (service.command ?? []).find((arg) => arg.startsWith('--config.file='))?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml';
    const mount = (service.volumes ?? []).find((v) => v.type === 'bind' && v.target === configPath);
    if (!mount?.source) {
      problems.push(`${name}: its configuration ${configPath} is not a file mounted from the repository`);
      continue;
    }
    const config = parseYaml(readFileSync(mount.source, 'utf8')) as PrometheusConfig;
    const jobs = config.scrape_configs ?? [];
    const names = jobs.map((j) => j.job_name);
    for (const job of repoJobs) if (!names.includes(job)) problems.push(`${name}: job ${job} of infra/observability/prometheus.yml is missing from ${path.relative(REPO_ROOT, mount.source)}`);
    for (const job of names) if (!repoJobs.includes(job)) problems.push(`${name}: job ${job} is not a job of infra/observability/prometheus.yml`);
    for (const job of jobs) {
      for (const target of job.static_configs?.flatMap((c) => c.targets ?? []) ?? []) {
        const host = target.replace(/:\d+$/, '');
        if (!project.services[host]) problems.push(`${name}: job ${job.job_name} scrapes ${target}, which is not a compose service`);
      }
    }
  }
  return result('Prometheus jobs match the repo', problems);
}

/**
 * Checks `file` (with `envFile` for interpolation) with the compose validator
 * at `validator` (buildComposeValidator()), then the project's rules. When
 * the file does not load, the schema result says why and the rules are not run.
 */
export async function checkCompose(options: { file: string; envFile: string; validator: string }): Promise<CheckResult[]> {
  const loaded = await runTool(options.validator, ['--env-file', options.envFile, options.file]);
  const schemaName = `schema and interpolation (compose-go) of ${path.relative(REPO_ROOT, path.resolve(options.file)) || options.file}`;
  if (loaded.code !== 0) return [result(schemaName, outputLines(loaded.stderr).map((line) => `(project): ${line}`))];
  const project = JSON.parse(loaded.stdout) as ComposeProject;
  return [
    result(schemaName, []),
    checkRestartAndHealth(project),
    checkDependsOn(project),
    checkLimits(project),
    checkDatabaseNetworks(project),
    await checkEnvironment(project),
    checkStreamPrefixes(project),
    checkImageTags(project),
    checkPrometheusJobs(project),
  ];
}
