/**
 * A reader of the Prometheus text exposition format (what each service's
 * `/metrics` answers, platform/src/observability/metrics.ts), and the few
 * figures the soak scenario reports from it. Pure: no k6 import, no import.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(text: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** Parses `name{label="value",...} value [timestamp]` lines; `#` lines and blank lines are skipped, malformed lines ignored. */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.charAt(0) === '#') continue;
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) continue;
    const name = nameMatch[0];
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line.charAt(i) === '{') {
      i++;
      let ok = false;
      for (;;) {
        while (line.charAt(i) === ' ' || line.charAt(i) === ',') i++;
        if (line.charAt(i) === '}') {
          i++;
          ok = true;
          break;
        }
        const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
        if (!key) break;
        i += key[0].length;
        while (line.charAt(i) === ' ') i++;
        if (line.charAt(i) !== '=') break;
        i++;
        while (line.charAt(i) === ' ') i++;
        if (line.charAt(i) !== '"') break;
        i++;
        let value = '';
        let closed = false;
        while (i < line.length) {
          const c = line.charAt(i);
          if (c === '\\') {
            const n = line.charAt(i + 1);
            value += n === 'n' ? '\n' : n;
            i += 2;
            continue;
          }
          if (c === '"') {
            closed = true;
            i++;
            break;
          }
          value += c;
          i++;
        }
        if (!closed) break;
        labels[key[0]] = value;
      }
      if (!ok) continue;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest.length === 0 || rest[0] === undefined || rest[0] === '') continue;
    const value = parseValue(rest[0]);
    if (Number.isNaN(value) && rest[0] !== 'NaN') continue;
    samples.push({ name, labels, value });
  }
  return samples;
}

const matches = (s: PromSample, name: string, labels: Record<string, string>) =>
  s.name === name && Object.keys(labels).every((k) => s.labels[k] === labels[k]);

/** The first sample of `name` with these labels, or undefined. */
export function sampleValue(samples: readonly PromSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  for (const s of samples) if (matches(s, name, labels)) return s.value;
  return undefined;
}

/** The sum of every sample of `name` (all label sets), or undefined when there is none. */
export function sumOf(samples: readonly PromSample[], name: string): number | undefined {
  let found = false;
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    found = true;
    sum += s.value;
  }
  return found ? sum : undefined;
}

/** The largest sample of `name`, or undefined. */
export function maxOf(samples: readonly PromSample[], name: string): number | undefined {
  let max: number | undefined;
  for (const s of samples) if (s.name === name && (max === undefined || s.value > max)) max = s.value;
  return max;
}

/** Memory and lag of one service, as the soak scenario reports them. */
export interface ServiceHealth {
  /** process_resident_memory_bytes, in MiB. */
  rssMb?: number;
  /** nodejs_heap_size_used_bytes, in MiB. */
  heapUsedMb?: number;
  /** nodejs_eventloop_lag_p99_seconds, in ms. */
  eventLoopLagP99Ms?: number;
  /** nodejs_eventloop_lag_mean_seconds, in ms. */
  eventLoopLagMeanMs?: number;
  /** The largest shop_projection_lag_events (events a projection is behind its log). */
  projectionLagEvents?: number;
  /** The largest shop_outbox_relay_lag_events. */
  outboxLagEvents?: number;
  /** The sum of shop_bus_consumer_lag_messages over groups, topics and partitions. */
  consumerLagMessages?: number;
}

const scaled = (v: number | undefined, factor: number) => (v === undefined ? undefined : Math.round(v * factor * 100) / 100);

export function serviceHealth(samples: readonly PromSample[]): ServiceHealth {
  const out: ServiceHealth = {};
  const set = <K extends keyof ServiceHealth>(k: K, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) out[k] = v;
  };
  set('rssMb', scaled(sampleValue(samples, 'process_resident_memory_bytes'), 1 / 1024 / 1024));
  set('heapUsedMb', scaled(sampleValue(samples, 'nodejs_heap_size_used_bytes'), 1 / 1024 / 1024));
  set('eventLoopLagP99Ms', scaled(sampleValue(samples, 'nodejs_eventloop_lag_p99_seconds'), 1000));
  set('eventLoopLagMeanMs', scaled(sampleValue(samples, 'nodejs_eventloop_lag_mean_seconds'), 1000));
  set('projectionLagEvents', maxOf(samples, 'shop_projection_lag_events'));
  set('outboxLagEvents', maxOf(samples, 'shop_outbox_relay_lag_events'));
  set('consumerLagMessages', sumOf(samples, 'shop_bus_consumer_lag_messages'));
  return out;
}
