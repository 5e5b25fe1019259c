import { parseDuration } from './duration';
import type { MetricDef, MetricType } from './state';

/**
 * What k6 checks in a script's `options` before it runs anything, for the
 * parts a one-iteration run can check: the threshold expressions (k6's
 * grammar, metrics/thresholds_parser.go; the metric they name exists and
 * supports the aggregation) and the scenarios (executor configs with k6's
 * strict field lists and required values; the exec function exported).
 * Thresholds are checked for syntax and consistency only, never against
 * figures: one iteration says nothing about latency or error rates.
 */

export interface ThresholdSpec {
  /** The key as written, e.g. `http_req_duration{scenario:browse}`. */
  key: string;
  metric: string;
  tags: Record<string, string>;
  expression: string;
  abortOnFail: boolean;
  valid: boolean;
  error?: string;
}

export interface ParsedExpression {
  method: string;
  percentile?: number;
  operator: string;
  value: number;
}

/** Longer operators first: k6 scans for each in this order and splits at its first occurrence. */
const OPERATORS = ['<=', '<', '>=', '>', '===', '==', '!='] as const;
const METHODS = new Set(['value', 'count', 'rate', 'avg', 'min', 'med', 'max']);
const SUPPORTED: Record<MetricType, readonly string[]> = {
  counter: ['count', 'rate'],
  gauge: ['value'],
  rate: ['rate'],
  trend: ['avg', 'min', 'max', 'med', 'p(N)'],
};
/** strconv.ParseFloat's decimal forms (and its inf / nan words). */
const FLOAT = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i;

export function parseThresholdExpression(input: string): ParsedExpression | { error: string } {
  let split: [string, string, string] | undefined;
  for (const op of OPERATORS) {
    const at = input.indexOf(op);
    if (at !== -1) {
      split = [input.slice(0, at).trim(), op, input.slice(at + op.length).trim()];
      break;
    }
  }
  if (!split) return { error: `failed parsing threshold expression "${input}"; reason: malformed threshold expression` };
  const [lhs, operator, rhs] = split;
  let method: string;
  let percentile: number | undefined;
  if (METHODS.has(lhs)) method = lhs;
  else if (lhs.startsWith('p(') && lhs.endsWith(')')) {
    const inner = lhs.slice(2, -1);
    if (!FLOAT.test(inner)) return { error: `failed parsing threshold expression's "${input}" left hand side; reason: malformed percentile value "${inner}"` };
    method = 'p';
    percentile = Number(inner);
  } else {
    return { error: `failed parsing threshold expression's "${input}" left hand side; reason: unknown aggregation method "${lhs}" (k6 knows avg, min, med, max, p(N), count, rate, value)` };
  }
  if (!FLOAT.test(rhs)) return { error: `failed parsing threshold expression's "${input}" right hand side; reason: "${rhs}" is not a number` };
  return { method, ...(percentile === undefined ? {} : { percentile }), operator, value: Number(rhs) };
}

/** metrics.ParseMetricName: `name` or `name{key:value,...}`. */
export function parseMetricName(name: string): { metric: string; tags: Record<string, string> } | { error: string } {
  const open = name.indexOf('{');
  const close = name.lastIndexOf('}');
  if (open === -1 && close === -1) return { metric: name, tags: {} };
  if (open === -1 || close === -1) return { error: `metric "${name}" has unmatched opening/close curly brace` };
  if (close < open) return { error: `metric "${name}" closing curly brace appears before opening one` };
  if (close !== name.length - 1) return { error: `metric "${name}" lacks a closing curly brace in its last position` };
  const tags: Record<string, string> = {};
  for (const part of name.slice(open + 1, close).split(',')) {
    const at = part.indexOf(':');
    if (at === -1 || part.slice(at + 1) === '') return { error: `metric "${name}": tag expression "${part}" is malformed (want key:value)` };
    const unquote = (s: string) => s.trim().replace(/^["']+|["']+$/g, '');
    tags[unquote(part.slice(0, at))] = unquote(part.slice(at + 1));
  }
  return { metric: name.slice(0, open), tags };
}

/** Every threshold in `options.thresholds`, each with whether k6 would accept it; `errors` has the config errors. */
export function checkThresholds(thresholds: unknown, metrics: ReadonlyMap<string, MetricDef>): { specs: ThresholdSpec[]; errors: string[] } {
  const specs: ThresholdSpec[] = [];
  const errors: string[] = [];
  if (thresholds === undefined || thresholds === null) return { specs, errors };
  if (typeof thresholds !== 'object' || Array.isArray(thresholds)) {
    return { specs, errors: ['options.thresholds must be an object of metric name → array of threshold expressions'] };
  }
  for (const [key, list] of Object.entries(thresholds)) {
    const name = parseMetricName(key);
    const def = 'metric' in name ? metrics.get(name.metric) : undefined;
    let keyError: string | undefined;
    if ('error' in name) keyError = `invalid threshold metric name: ${name.error}`;
    else if (!def) keyError = `invalid threshold defined on ${key}; reason: no metric name "${name.metric}" found`;
    if (!Array.isArray(list)) {
      errors.push(`options.thresholds['${key}'] must be an array of expressions (strings or { threshold, abortOnFail, delayAbortEval }), not ${typeof list}`);
      continue;
    }
    list.forEach((entry: unknown, i) => {
      const at = `options.thresholds['${key}'][${i}]`;
      let expression: string;
      let abortOnFail = false;
      if (typeof entry === 'string') expression = entry;
      else if (entry !== null && typeof entry === 'object' && typeof (entry as { threshold?: unknown }).threshold === 'string') {
        const obj = entry as { threshold: string; abortOnFail?: unknown; delayAbortEval?: unknown };
        expression = obj.threshold;
        if (obj.abortOnFail !== undefined && typeof obj.abortOnFail !== 'boolean') errors.push(`${at}.abortOnFail must be a boolean`);
        abortOnFail = obj.abortOnFail === true;
        if (obj.delayAbortEval !== undefined && parseDuration(obj.delayAbortEval) === null) errors.push(`${at}.delayAbortEval ${JSON.stringify(obj.delayAbortEval)} is not a duration`);
      } else {
        errors.push(`${at} must be a string or an object with a string 'threshold', not ${JSON.stringify(entry)}`);
        return;
      }
      const parsed = parseThresholdExpression(expression);
      let error = 'error' in parsed ? parsed.error : keyError;
      if (!error && def && !('error' in parsed)) {
        const method = parsed.method === 'p' ? 'p(N)' : parsed.method;
        if (!SUPPORTED[def.type].includes(method)) {
          error = `invalid threshold "${expression}" applied on metric ${key}; reason: unsupported aggregation method ${parsed.method} on metric of type ${def.type}. supported aggregation methods for this metric are: ${SUPPORTED[def.type].join(', ')}`;
        }
      }
      const base = { key, metric: 'metric' in name ? name.metric : key, tags: 'tags' in name ? name.tags : {}, expression, abortOnFail };
      specs.push(error ? { ...base, valid: false, error } : { ...base, valid: true });
      if (error) errors.push(error);
    });
  }
  return { specs, errors };
}

export interface ScenarioPlan {
  name: string;
  executor: string;
  exec: string;
  env: Record<string, string>;
  tags: Record<string, string>;
}

const BASE_KEYS = ['executor', 'startTime', 'gracefulStop', 'env', 'exec', 'tags', 'options'];
const EXECUTOR_KEYS: Record<string, string[]> = {
  'shared-iterations': ['vus', 'iterations', 'maxDuration'],
  'per-vu-iterations': ['vus', 'iterations', 'maxDuration'],
  'constant-vus': ['vus', 'duration'],
  'ramping-vus': ['startVUs', 'stages', 'gracefulRampDown'],
  'constant-arrival-rate': ['rate', 'timeUnit', 'duration', 'preAllocatedVUs', 'maxVUs'],
  'ramping-arrival-rate': ['startRate', 'timeUnit', 'preAllocatedVUs', 'maxVUs', 'stages'],
  'externally-controlled': ['vus', 'maxVUs', 'duration'],
};
const SCENARIO_NAME = /^[0-9a-zA-Z_-]+$/;
const MIN_DURATION_MS = 1000;

/** The executor config checks of k6's lib/executor/*.go Validate() methods, for one scenario. */
function validateExecutor(name: string, sc: Record<string, unknown>): string[] {
  const errs: string[] = [];
  const say = (msg: string) => errs.push(`scenario '${name}': ${msg}`);
  const executor = sc.executor;
  if (typeof executor !== 'string' || executor === '') {
    say('missing or empty executor field');
    return errs;
  }
  const own = EXECUTOR_KEYS[executor];
  if (!own) {
    say(`unknown executor '${executor}' (k6 has ${Object.keys(EXECUTOR_KEYS).join(', ')})`);
    return errs;
  }
  for (const key of Object.keys(sc)) if (!BASE_KEYS.includes(key) && !own.includes(key)) say(`json: unknown field "${key}" for executor ${executor}`);
  if (!SCENARIO_NAME.test(name)) say('the scenario name should contain only numbers, latin letters, underscores, and dashes');
  if (sc.exec !== undefined && (typeof sc.exec !== 'string' || sc.exec === '')) say('exec value cannot be empty (and must be a string)');
  for (const key of ['env', 'tags'] as const) {
    const v = sc[key];
    if (v !== undefined && (v === null || typeof v !== 'object' || Object.values(v).some((x) => typeof x !== 'string'))) say(`${key} must be an object of strings`);
  }
  const int = (key: string): number | undefined | null => {
    const v = sc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      say(`${key} must be an integer, not ${JSON.stringify(v)}`);
      return null;
    }
    return v;
  };
  const dur = (key: string): number | undefined | null => {
    const v = sc[key];
    if (v === undefined || v === null) return undefined;
    const ms = parseDuration(v);
    if (ms === null) {
      say(`${key} ${JSON.stringify(v)} is not a duration`);
      return null;
    }
    return ms;
  };
  const startTime = dur('startTime');
  if (typeof startTime === 'number' && startTime < 0) say("the startTime can't be negative");
  const gracefulStop = dur('gracefulStop');
  if (typeof gracefulStop === 'number' && gracefulStop < 0) say("the gracefulStop timeout can't be negative");
  const requireDuration = (key: string) => {
    const d = dur(key);
    if (d === undefined) say(`the ${key} is unspecified`);
    else if (d !== null && d < MIN_DURATION_MS) say(`the ${key} must be at least 1s, but is ${JSON.stringify(sc[key])}`);
  };
  const stages = (): void => {
    const list = sc.stages;
    if (!Array.isArray(list) || list.length === 0) {
      say('at least one stage has to be specified');
      return;
    }
    list.forEach((stage: unknown, i) => {
      const n = i + 1;
      if (stage === null || typeof stage !== 'object') {
        say(`stage ${n} must be an object { duration, target }`);
        return;
      }
      const s = stage as Record<string, unknown>;
      for (const key of Object.keys(s)) if (key !== 'duration' && key !== 'target') say(`json: unknown field "${key}" in stage ${n}`);
      const d = s.duration === undefined ? undefined : parseDuration(s.duration);
      if (d === undefined) say(`stage ${n} doesn't have a duration`);
      else if (d === null) say(`stage ${n}: ${JSON.stringify(s.duration)} is not a duration`);
      else if (d < 0) say(`the duration for stage ${n} can't be negative`);
      if (s.target === undefined) say(`stage ${n} doesn't have a target`);
      else if (typeof s.target !== 'number' || !Number.isInteger(s.target)) say(`stage ${n}: target must be an integer`);
      else if (s.target < 0) say(`the target for stage ${n} can't be negative`);
    });
  };
  const arrival = () => {
    const timeUnit = dur('timeUnit');
    if (typeof timeUnit === 'number' && timeUnit <= 0) say('the timeUnit must be more than 0');
    const pre = int('preAllocatedVUs');
    if (pre === undefined) say("the number of preAllocatedVUs isn't specified");
    else if (pre !== null && pre < 0) say("the number of preAllocatedVUs can't be negative");
    const max = int('maxVUs');
    if (typeof max === 'number' && typeof pre === 'number' && max < pre) say("maxVUs can't be less than preAllocatedVUs");
  };

  switch (executor) {
    case 'shared-iterations':
    case 'per-vu-iterations': {
      const vus = int('vus') ?? 1;
      const iterations = int('iterations') ?? 1;
      if (vus !== null && vus <= 0) say('the number of VUs must be more than 0');
      if (iterations !== null && iterations <= 0) say('the number of iterations must be more than 0');
      if (executor === 'shared-iterations' && vus !== null && iterations !== null && iterations < vus) {
        say(`the number of iterations (${iterations}) can't be less than the number of VUs (${vus})`);
      }
      const maxDuration = dur('maxDuration');
      if (typeof maxDuration === 'number' && maxDuration < MIN_DURATION_MS) say('the maxDuration must be at least 1s');
      break;
    }
    case 'constant-vus': {
      const vus = int('vus');
      if (typeof vus === 'number' && vus <= 0) say('the number of VUs must be more than 0');
      requireDuration('duration');
      break;
    }
    case 'ramping-vus': {
      const startVUs = int('startVUs');
      if (typeof startVUs === 'number' && startVUs < 0) say('the number of start VUs must be non-negative');
      dur('gracefulRampDown');
      stages();
      break;
    }
    case 'constant-arrival-rate': {
      const rate = int('rate');
      if (rate === undefined) say("the iteration rate isn't specified");
      else if (rate !== null && rate <= 0) say('the iteration rate must be more than 0');
      requireDuration('duration');
      arrival();
      break;
    }
    case 'ramping-arrival-rate': {
      const startRate = int('startRate');
      if (typeof startRate === 'number' && startRate < 0) say("the startRate value can't be negative");
      arrival();
      stages();
      break;
    }
    case 'externally-controlled': {
      int('vus');
      int('maxVUs');
      dur('duration');
      break;
    }
  }
  return errs;
}

/**
 * The scenarios to run, in declaration order (the default one when the
 * script declares none), each with an exported exec function; `errors` has
 * what k6 would refuse to start with.
 */
export function planScenarios(options: Record<string, unknown>, exportsOf: Record<string, unknown>): { plans: ScenarioPlan[]; errors: string[] } {
  const errors: string[] = [];
  const plans: ScenarioPlan[] = [];
  const scenarios = options.scenarios;
  const shortcuts = ['duration', 'iterations', 'stages'].filter((k) => options[k] !== undefined && options[k] !== null);
  if (scenarios === undefined || scenarios === null) {
    const executor = shortcuts.includes('stages') ? 'ramping-vus' : shortcuts.includes('duration') ? 'constant-vus' : shortcuts.includes('iterations') ? 'shared-iterations' : 'per-vu-iterations';
    plans.push({ name: 'default', executor, exec: 'default', env: {}, tags: {} });
  } else if (typeof scenarios !== 'object' || Array.isArray(scenarios)) {
    errors.push('options.scenarios must be an object of scenario name → scenario config');
  } else {
    for (const k of shortcuts) errors.push(`using an execution configuration shortcut (\`${k}\`) and \`scenarios\` simultaneously is not allowed`);
    const entries = Object.entries(scenarios as Record<string, unknown>);
    if (entries.length === 0) errors.push('options.scenarios is empty: no scenario to run');
    for (const [name, raw] of entries) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        errors.push(`scenario '${name}': its config must be an object`);
        continue;
      }
      const sc = raw as Record<string, unknown>;
      errors.push(...validateExecutor(name, sc));
      plans.push({
        name,
        executor: String(sc.executor),
        exec: typeof sc.exec === 'string' && sc.exec !== '' ? sc.exec : 'default',
        env: (sc.env as Record<string, string> | undefined) ?? {},
        tags: (sc.tags as Record<string, string> | undefined) ?? {},
      });
    }
  }
  for (const plan of plans) {
    if (typeof exportsOf[plan.exec] !== 'function') {
      errors.push(`scenario '${plan.name}': executor ${plan.executor}: function '${plan.exec}' not found in exports`);
    }
  }
  return { plans, errors };
}
