import { createHash } from 'node:crypto';

/**
 * The one-iteration harness's run state, shared by the k6 module shims and
 * the child runner (one module instance per child process): the phase the
 * script is in, the metric registry and its samples, the check/group tree,
 * and the failures that make the run fail.
 */

export type Phase = 'init' | 'setup' | 'vu' | 'teardown' | 'summary';
export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';
export type MetricContains = 'default' | 'time' | 'data';

export interface MetricDef {
  name: string;
  type: MetricType;
  contains: MetricContains;
  builtin: boolean;
}

export interface Sample {
  metric: string;
  value: number;
  tags: Record<string, string>;
}

export interface CheckNode {
  name: string;
  path: string;
  id: string;
  passes: number;
  fails: number;
}

export interface GroupNode {
  name: string;
  path: string;
  id: string;
  groups: GroupNode[];
  checks: CheckNode[];
}

export interface RequestRecord {
  phase: Phase;
  scenario: string | null;
  method: string;
  url: string;
  status: number;
  /** Whether the response callback counted it as expected; null when no callback is set (no http_req_failed sample). */
  expected: boolean | null;
  durationMs: number;
  error?: string;
}

export interface ScenarioContext {
  name: string;
  executor: string;
  exec: string;
  startTime: number;
  tags: Record<string, string>;
  vuId: number;
}

/** Thrown by `exec.test.abort()`: stops the run (teardown still runs, as in k6). */
export class TestAbort extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TestAbort';
  }
}

/** Raised by k6 API misuse that k6 itself rejects (its message says what). */
export class K6UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'K6UsageError';
  }
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const newGroup = (name: string, path: string): GroupNode => ({ name, path, id: md5(path), groups: [], checks: [] });

/** k6's built-in metrics (metrics/builtin.go): thresholds may name them whether or not they were sampled. */
const BUILTIN: ReadonlyArray<[string, MetricType, MetricContains]> = [
  ['vus', 'gauge', 'default'],
  ['vus_max', 'gauge', 'default'],
  ['iterations', 'counter', 'default'],
  ['iteration_duration', 'trend', 'time'],
  ['dropped_iterations', 'counter', 'default'],
  ['checks', 'rate', 'default'],
  ['group_duration', 'trend', 'time'],
  ['http_reqs', 'counter', 'default'],
  ['http_req_failed', 'rate', 'default'],
  ['http_req_duration', 'trend', 'time'],
  ['http_req_blocked', 'trend', 'time'],
  ['http_req_connecting', 'trend', 'time'],
  ['http_req_tls_handshaking', 'trend', 'time'],
  ['http_req_sending', 'trend', 'time'],
  ['http_req_waiting', 'trend', 'time'],
  ['http_req_receiving', 'trend', 'time'],
  ['ws_sessions', 'counter', 'default'],
  ['ws_msgs_sent', 'counter', 'default'],
  ['ws_msgs_received', 'counter', 'default'],
  ['ws_ping', 'trend', 'time'],
  ['ws_session_duration', 'trend', 'time'],
  ['ws_connecting', 'trend', 'time'],
  ['grpc_req_duration', 'trend', 'time'],
  ['data_sent', 'counter', 'data'],
  ['data_received', 'counter', 'data'],
];

/** k6's metric name rule (metrics/registry.go). */
const METRIC_NAME = /^[\p{L}\p{N}._ !?/&#()<>%-]{1,128}$/u;
/** k6 rejects group and check names containing its path separator. */
const GROUP_SEPARATOR = '::';

class HarnessState {
  phase: Phase = 'init';
  readonly metrics = new Map<string, MetricDef>();
  readonly samples: Sample[] = [];
  readonly requests: RequestRecord[] = [];
  /** Failures that are not exceptions (a failed check, an invalid metric value, `exec.test.fail()`). */
  readonly failures: string[] = [];
  readonly warnings: string[] = [];
  readonly rootGroup: GroupNode = newGroup('', '');
  private groupStack: GroupNode[] = [this.rootGroup];
  scenario: ScenarioContext | null = null;
  /** The script's `options` export, as the runner read it. */
  options: Record<string, unknown> = {};
  /** The directory `open()` resolves relative paths against (the scenario file's). */
  scriptDir = process.cwd();
  /** Tags set through `exec.vu.tags` / `exec.vu.metrics.tags` for the current VU. */
  vuTags: Record<string, string> = {};
  readonly startedAt = Date.now();
  iterationsCompleted = 0;
  iterationsInterrupted = 0;

  constructor() {
    for (const [name, type, contains] of BUILTIN) this.metrics.set(name, { name, type, contains, builtin: true });
  }

  get currentGroup(): GroupNode {
    return this.groupStack[this.groupStack.length - 1]!;
  }

  defineMetric(name: string, type: MetricType, isTime: boolean): MetricDef {
    if (this.phase !== 'init') throw new K6UsageError('metrics must be declared in the init context');
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
      throw new K6UsageError(`invalid metric name '${String(name)}': k6 allows 1 to 128 letters, digits and ._ !?/&#()<>%-`);
    }
    const contains: MetricContains = isTime ? 'time' : 'default';
    const existing = this.metrics.get(name);
    if (existing) {
      if (existing.type !== type || (!existing.builtin && existing.contains !== contains)) {
        throw new K6UsageError(`metric '${name}' already exists but with type ${existing.type}, instead of ${type}`);
      }
      return existing;
    }
    const def: MetricDef = { name, type, contains, builtin: false };
    this.metrics.set(name, def);
    return def;
  }

  /** The tags k6 attaches to every sample of the current context (scenario, group, the script's and the VU's tags). */
  contextTags(): Record<string, string> {
    const tags: Record<string, string> = {};
    const globalTags = this.options.tags;
    if (globalTags && typeof globalTags === 'object') Object.assign(tags, stringTags(globalTags as Record<string, unknown>));
    if (this.scenario) {
      Object.assign(tags, this.scenario.tags);
      tags.scenario = this.scenario.name;
    }
    Object.assign(tags, this.vuTags);
    tags.group = this.currentGroup.path;
    return tags;
  }

  addSample(metric: string, value: number, tags: Record<string, string> = {}): void {
    this.samples.push({ metric, value, tags: { ...this.contextTags(), ...tags } });
  }

  fail(reason: string): void {
    this.failures.push(reason);
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  recordCheck(name: string, passed: boolean, tags: Record<string, string>): void {
    if (name.includes(GROUP_SEPARATOR)) throw new K6UsageError(`group and check names may not contain '${GROUP_SEPARATOR}' (check '${name}')`);
    const group = this.currentGroup;
    const path = `${group.path}${GROUP_SEPARATOR}${name}`;
    let node = group.checks.find((c) => c.name === name);
    if (!node) {
      node = { name, path, id: md5(path), passes: 0, fails: 0 };
      group.checks.push(node);
    }
    if (passed) node.passes++;
    else {
      node.fails++;
      this.fail(`check failed: '${name}'${group.path ? ` (group ${group.path})` : ''}${this.scenario ? ` in scenario '${this.scenario.name}'` : ` in ${this.phase}()`}`);
    }
    this.addSample('checks', passed ? 1 : 0, { check: name, ...tags });
  }

  /** Runs `fn` inside group `name` (k6's nesting, path and, when `timed`, group_duration). */
  inGroup<T>(name: string, fn: () => T, timed = true): T {
    if (typeof name !== 'string' || name === '') throw new K6UsageError('group() needs a non-empty name');
    if (name.includes(GROUP_SEPARATOR)) throw new K6UsageError(`group and check names may not contain '${GROUP_SEPARATOR}' (group '${name}')`);
    const parent = this.currentGroup;
    const path = `${parent.path}${GROUP_SEPARATOR}${name}`;
    let node = parent.groups.find((g) => g.name === name);
    if (!node) {
      node = newGroup(name, path);
      parent.groups.push(node);
    }
    this.groupStack.push(node);
    const started = performance.now();
    try {
      return fn();
    } finally {
      this.groupStack.pop();
      if (timed) this.addSample('group_duration', performance.now() - started, { group: path });
    }
  }

  /** Enters group `name` of the root group until resetGroups() (setup and teardown run in groups of those names, as in k6). */
  enterRootGroup(name: string): void {
    this.resetGroups();
    const path = `${GROUP_SEPARATOR}${name}`;
    let node = this.rootGroup.groups.find((g) => g.name === name);
    if (!node) {
      node = newGroup(name, path);
      this.rootGroup.groups.push(node);
    }
    this.groupStack.push(node);
  }

  /** Resets the group stack to the root (after an exception escaped a group). */
  resetGroups(): void {
    this.groupStack = [this.rootGroup];
  }
}

/** k6 tag values are strings; numbers and booleans are converted. */
export function stringTags(tags: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw new K6UsageError(`tag '${k}' has a ${v === null ? 'null' : typeof v} value; k6 tag values are strings, numbers or booleans`);
  }
  return out;
}

export const state = new HarnessState();
export type { HarnessState };
