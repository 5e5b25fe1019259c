import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus metrics (prom-client), served at `/metrics` by
 * every service. One registry per process: a service runs alone in its
 * process, so a scrape is one service (the tests that run several services
 * in one process see them side by side, told apart by their labels).
 *
 * Names follow the Prometheus conventions: a `shop_` prefix, the unit in the
 * name (`_seconds`, `_messages`, `_events`), `_total` on counters. The
 * catalogue, with what each alert does with them, is in docs/observability.md.
 */
export const metricsRegistry = new Registry();

/**
 * `SHOP_METRICS=off` turns every instrument below into a no-op (`/metrics`
 * then serves nothing): only so that `bench:saga --observability` can measure
 * what metrics cost against a run without them.
 */
export const metricsEnabled = process.env.SHOP_METRICS?.trim().toLowerCase() !== 'off';

const NOOP = {
  inc() {},
  observe() {},
  set() {},
  reset() {},
  startTimer: () => () => 0,
  get: () => Promise.resolve({ values: [] }),
};
function counter<L extends string>(config: ConstructorParameters<typeof Counter<L>>[0]): Counter<L> {
  return metricsEnabled ? new Counter<L>(config) : (NOOP as unknown as Counter<L>);
}
function histogram<L extends string>(config: ConstructorParameters<typeof Histogram<L>>[0]): Histogram<L> {
  return metricsEnabled ? new Histogram<L>(config) : (NOOP as unknown as Histogram<L>);
}

let runtimeMetrics = false;
/** Node runtime metrics (event-loop lag, heap, GC, CPU), once per process. */
export function collectRuntimeMetrics(): void {
  if (runtimeMetrics || !metricsEnabled) return;
  runtimeMetrics = true;
  collectDefaultMetrics({ register: metricsRegistry, eventLoopMonitoringPrecision: 20 });
}

const registers = [metricsRegistry];
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SAGA_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900];

type LabelValues<L extends string> = Partial<Record<L, string | number>>;

/** One thing a gauge reports at scrape time: it is asked for its current series. */
export type GaugeSource<L extends string> = () => Promise<{ labels: LabelValues<L>; value: number }[]> | { labels: LabelValues<L>; value: number }[];

/**
 * A gauge whose value is read when Prometheus scrapes (a lag, a count in a
 * table), from sources that the running parts register and remove. A source
 * that fails reports nothing this scrape (a stale series is worse than a gap).
 */
export class SampledGauge<L extends string> {
  readonly gauge: Gauge<L>;
  private readonly sources = new Set<GaugeSource<L>>();

  constructor(name: string, help: string, labelNames: readonly L[]) {
    const sources = this.sources;
    if (!metricsEnabled) {
      this.gauge = NOOP as unknown as Gauge<L>;
      return;
    }
    this.gauge = new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        const samples = await Promise.all([...sources].map(async (s) => (await Promise.resolve(s()).catch(() => [])) ?? []));
        for (const sample of samples.flat()) this.set(sample.labels, sample.value);
      },
    });
  }

  /** Adds a source; returns its removal. */
  add(source: GaugeSource<L>): () => void {
    if (!metricsEnabled) return () => undefined;
    this.sources.add(source);
    return () => this.sources.delete(source);
  }
}

export const httpMetrics = {
  requests: counter({
    name: 'shop_http_requests_total',
    help: 'HTTP requests served, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers,
  }),
  duration: histogram({
    name: 'shop_http_request_duration_seconds',
    help: 'Time from a request arriving to its response finishing, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: SECONDS,
    registers,
  }),
};

export const busMetrics = {
  handled: counter({
    name: 'shop_bus_messages_handled_total',
    help: 'Messages a consumer group handled and committed (duplicates and ignored types included), by group and topic.',
    labelNames: ['group', 'topic'] as const,
    registers,
  }),
  retried: counter({
    name: 'shop_bus_messages_retried_total',
    help: 'Deliveries that failed and will be tried again (a page counts each of its messages), by group and topic.',
    labelNames: ['group', 'topic'] as const,
    registers,
  }),
  deadLettered: counter({
    name: 'shop_bus_messages_dead_lettered_total',
    help: 'Messages sent to a dead-letter topic, by group and the topic they came from.',
    labelNames: ['group', 'topic'] as const,
    registers,
  }),
  handlerDuration: histogram({
    name: 'shop_bus_handler_duration_seconds',
    help: "Time a consumer group's handler took over one delivery (a page of messages, or one message), by group.",
    labelNames: ['group'] as const,
    buckets: SECONDS,
    registers,
  }),
  pageSize: histogram({
    name: 'shop_bus_page_messages',
    help: 'Messages per page handed to a consumer group, by group.',
    labelNames: ['group'] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
    registers,
  }),
  consumerLag: new SampledGauge('shop_bus_consumer_lag_messages', 'Messages published to a partition that the group has not committed yet, by group, topic and partition.', [
    'group',
    'topic',
    'partition',
  ] as const),
  deadLetterDepth: new SampledGauge('shop_bus_dead_letter_messages', 'Messages waiting in a dead-letter topic, by the group it belongs to and the topic.', ['group', 'topic'] as const),
};

export const outboxMetrics = {
  published: counter({
    name: 'shop_outbox_messages_published_total',
    help: 'Messages the outbox relay published to the bus (a page published again after a crash counts again), by relay and topic.',
    labelNames: ['relay', 'topic'] as const,
    registers,
  }),
  lag: new SampledGauge('shop_outbox_relay_lag_events', "Events in the service's log after the relay's checkpoint, by relay (0 on a standby).", ['relay'] as const),
};

export const projectionMetrics = {
  lag: new SampledGauge('shop_projection_lag_events', "Events in the service's log after a projection's checkpoint, by projection.", ['projection'] as const),
};

export const eventStoreMetrics = {
  appendDuration: histogram({
    name: 'shop_event_store_append_duration_seconds',
    help: 'Time one append or unit-of-work commit took in the event store, by operation and result.',
    labelNames: ['operation', 'result'] as const,
    buckets: SECONDS,
    registers,
  }),
  eventsAppended: counter({
    name: 'shop_event_store_events_appended_total',
    help: 'Events stored (committed) in the event store.',
    registers,
  }),
  doorbellMissed: counter({
    name: 'shop_eventstore_doorbell_missed_total',
    help: 'Times the EventStoreDB live subscription that wakes readers missed events for a whole safety-poll interval and was re-created (the silent-hang failure).',
    registers,
  }),
};

export const sagaMetrics = {
  started: counter({ name: 'shop_sagas_started_total', help: 'Sagas started, by saga type.', labelNames: ['saga_type'] as const, registers }),
  completed: counter({ name: 'shop_sagas_completed_total', help: 'Sagas that reached their goal, by saga type.', labelNames: ['saga_type'] as const, registers }),
  compensated: counter({
    name: 'shop_sagas_compensated_total',
    help: 'Sagas that ended after running compensations (rejected or cancelled with steps undone), by saga type.',
    labelNames: ['saga_type'] as const,
    registers,
  }),
  ended: counter({
    name: 'shop_sagas_ended_total',
    help: 'Sagas ended, by saga type and end status (completed, rejected, cancelled).',
    labelNames: ['saga_type', 'status'] as const,
    registers,
  }),
  failed: counter({
    name: 'shop_sagas_failed_total',
    help: 'Sagas that failed (out of retries, or a compensation that cannot run) and wait for an operator, by saga type.',
    labelNames: ['saga_type'] as const,
    registers,
  }),
  duration: histogram({
    name: 'shop_saga_duration_seconds',
    help: 'Time from a saga starting to its end, by saga type and end status.',
    labelNames: ['saga_type', 'status'] as const,
    buckets: SAGA_SECONDS,
    registers,
  }),
  stuck: new SampledGauge('shop_sagas_stuck', 'Sagas failed, or not ended within the stuck threshold after they started, by saga type.', ['saga_type'] as const),
};

/** The text a scrape gets, and its content type. */
export async function scrape(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}
