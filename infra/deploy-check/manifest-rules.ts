import { parseAllDocuments } from 'yaml';
import type { CheckResult } from './check-result';
import { isKnownVariable, requiredVariables, SERVICE_FOLDERS, streamPrefixProblems, type EventStoreSettings } from './service-requirements';

/**
 * The project's rules for rendered manifests, which no schema can see
 * because they relate objects to each other or to the services' typed
 * config: every workload container is bounded and locked down, every
 * service has its probes, disruption budget, autoscaler (k3s), network
 * policy and service account, and gets every variable its config requires;
 * services sharing an EventStoreDB server have stream prefixes of their own.
 */

interface Container {
  name: string;
  imagePullPolicy?: string;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: { runAsNonRoot?: boolean; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; privileged?: boolean };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }[];
}

interface Probe {
  httpGet?: { path?: string };
}

interface PodSpec {
  serviceAccountName?: string;
  restartPolicy?: string;
  securityContext?: { runAsNonRoot?: boolean };
  containers?: Container[];
  initContainers?: Container[];
}

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    template?: { metadata?: { labels?: Record<string, string> }; spec?: PodSpec };
    selector?: { matchLabels?: Record<string, string> };
    podSelector?: { matchLabels?: Record<string, string> };
    scaleTargetRef?: { kind?: string; name?: string };
  };
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);
/** Values the API server accepts but the OpenAPI schemas do not enumerate. */
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

export function manifestsOf(yaml: string): Manifest[] {
  return parseAllDocuments(yaml)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === 'object' && typeof m.kind === 'string');
}

const ref = (m: Manifest) => `${m.kind}/${m.metadata.name}`;

/** Whether a selector (non-empty matchLabels) picks pods with `labels`. An empty selector (a namespace-wide default) does not count as one for a service. */
function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const entries = Object.entries(matchLabels ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

function containerProblems(owner: string, pod: PodSpec, container: Container): string[] {
  const where = `${owner} container ${container.name}`;
  const problems: string[] = [];
  const { requests, limits } = container.resources ?? {};
  for (const [name, section] of [['requests', requests], ['limits', limits]] as const) {
    for (const resource of ['cpu', 'memory']) if (section?.[resource] === undefined) problems.push(`${where}: no resources.${name}.${resource}`);
  }
  const security = container.securityContext ?? {};
  if (security.runAsNonRoot !== true && pod.securityContext?.runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot is not true (neither the container's nor the pod's securityContext)`);
  if (security.readOnlyRootFilesystem !== true) problems.push(`${where}: securityContext.readOnlyRootFilesystem is not true`);
  if (security.allowPrivilegeEscalation !== false) problems.push(`${where}: securityContext.allowPrivilegeEscalation is not false`);
  if (security.privileged === true) problems.push(`${where}: securityContext.privileged is true`);
  if (container.imagePullPolicy !== undefined && !PULL_POLICIES.includes(container.imagePullPolicy)) {
    problems.push(`${where}: imagePullPolicy ${JSON.stringify(container.imagePullPolicy)} is not one of ${PULL_POLICIES.join(', ')}`);
  }
  return problems;
}

function probeProblems(owner: string, container: Container): string[] {
  const where = `${owner} container ${container.name}`;
  const problems: string[] = [];
  const expect = [
    ['readinessProbe', '/readyz'],
    ['livenessProbe', '/healthz'],
  ] as const;
  for (const [probe, path] of expect) {
    const actual = container[probe];
    if (!actual) problems.push(`${where}: no ${probe}`);
    else if (actual.httpGet?.path !== path) problems.push(`${where}: ${probe} is not an HTTP GET of ${path}`);
  }
  if (!container.startupProbe) problems.push(`${where}: no startupProbe`);
  return problems;
}

/** The variables a container gets: its `env` and each `envFrom` ConfigMap's or Secret's keys, with their values where they are literal. */
function containerEnvironment(container: Container, byRef: Map<string, Manifest>): { variables: Map<string, string | undefined>; problems: string[] } {
  const variables = new Map<string, string | undefined>();
  const problems: string[] = [];
  for (const source of container.envFrom ?? []) {
    const target = source.configMapRef ? `ConfigMap/${source.configMapRef.name}` : source.secretRef ? `Secret/${source.secretRef.name}` : undefined;
    const object = target ? byRef.get(target) : undefined;
    if (!target) continue;
    if (!object) {
      problems.push(`envFrom names ${target}, which the build does not contain`);
      continue;
    }
    // A Secret's data is base64; only its keys matter here.
    for (const [key, value] of Object.entries({ ...object.data, ...object.stringData })) variables.set(`${source.prefix ?? ''}${key}`, object.kind === 'ConfigMap' ? value : undefined);
  }
  for (const entry of container.env ?? []) variables.set(entry.name, entry.value);
  return { variables, problems };
}

/**
 * The rules over one rendered overlay. `autoscalers`: whether each service
 * must have a HorizontalPodAutoscaler (k3s) or none may exist (dev, one
 * replica of everything).
 */
export async function manifestRulesCheck(options: { yaml: string; label: string; autoscalers: 'required' | 'none' }): Promise<CheckResult> {
  const name = `${options.label}: manifest rules (resources, security, probes, PDB/HPA/NetworkPolicy/ServiceAccount, env)`;
  const manifests = manifestsOf(options.yaml);
  const byRef = new Map(manifests.map((m) => [ref(m), m]));
  const problems: string[] = [];

  for (const workload of manifests.filter((m) => WORKLOADS.has(m.kind))) {
    const pod = workload.spec?.template?.spec ?? {};
    for (const container of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) problems.push(...containerProblems(ref(workload), pod, container));
  }

  if (options.autoscalers === 'none') {
    for (const hpa of manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler')) problems.push(`${ref(hpa)}: this overlay runs one replica of everything and must have no autoscaler`);
  }

  const eventStores: EventStoreSettings[] = [];
  for (const folder of SERVICE_FOLDERS) {
    const deployment = byRef.get(`Deployment/${folder}`);
    if (!deployment) {
      problems.push(`Deployment/${folder}: missing (one per service)`);
      continue;
    }
    const owner = ref(deployment);
    const pod = deployment.spec?.template?.spec ?? {};
    const labels = deployment.spec?.template?.metadata?.labels ?? {};
    const app = pod.containers?.find((c) => c.name === folder) ?? pod.containers?.[0];
    if (!app) {
      problems.push(`${owner}: no containers`);
      continue;
    }
    problems.push(...probeProblems(owner, app));

    if (!manifests.some((m) => m.kind === 'PodDisruptionBudget' && selects(m.spec?.selector?.matchLabels, labels))) problems.push(`${owner}: no PodDisruptionBudget selects its pods`);
    if (!manifests.some((m) => m.kind === 'NetworkPolicy' && selects(m.spec?.podSelector?.matchLabels, labels))) problems.push(`${owner}: no NetworkPolicy selects its pods`);
    const hpa = manifests.some((m) => m.kind === 'HorizontalPodAutoscaler' && m.spec?.scaleTargetRef?.kind === 'Deployment' && m.spec.scaleTargetRef.name === folder);
    if (options.autoscalers === 'required' && !hpa) problems.push(`${owner}: no HorizontalPodAutoscaler targets it`);
    if (!pod.serviceAccountName || pod.serviceAccountName === 'default') problems.push(`${owner}: no serviceAccountName of its own`);
    else if (!byRef.has(`ServiceAccount/${pod.serviceAccountName}`)) problems.push(`${owner}: ServiceAccount/${pod.serviceAccountName} is not in the build`);

    const environment = containerEnvironment(app, byRef);
    problems.push(...environment.problems.map((p) => `${owner} container ${app.name}: ${p}`));
    const setValues = Object.fromEntries([...environment.variables].map(([k, v]) => [k, v ?? 'set']));
    for (const variable of await requiredVariables(folder, setValues)) {
      if (!environment.variables.has(variable)) problems.push(`${owner} container ${app.name}: ${variable} is not set, and ${folder}'s config requires it`);
    }
    for (const variable of environment.variables.keys()) {
      if (!(await isKnownVariable(folder, variable))) problems.push(`${owner} container ${app.name}: sets ${variable}, which ${folder}'s config does not read`);
    }
    eventStores.push({ name: owner, environment: Object.fromEntries(environment.variables) });
  }
  problems.push(...streamPrefixProblems(eventStores));
  return { name, ok: problems.length === 0, problems };
}
