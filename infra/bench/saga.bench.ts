/**
 * npm run bench:saga [-- --bus postgres|kafka] [--rates 10,25,50,100,150,200,300] [--seconds 30]
 *                       [--quick] [--skus 400] [--decline 0.1] [--no-baseline] [--cpu-prof DIR]
 *                       [--peer temporal] [--peer-persistence disk,memory] [--peer-rates ...]
 *                       [--observability [--configurations ...] [--scraper fetch|prometheus] [--rounds N]]
 *                       [--refine K] [--p99-below MS]
 *
 * The platform's headline: orders through the whole place-order saga on the
 * local stack, started as `npm start` starts it (every service its own
 * process, one embedded PostgreSQL, the bus of `--bus`). Orders are placed
 * open-loop at a constant arrival rate through the order service's HTTP API
 * (one SKU per order, from a catalog of `--skus` products stocked so that
 * stock never runs out; `tok_decline` for a `--decline` share, `tok_approve`
 * for the rest), one step per rate, each drained before the next.
 *
 * Per step, one JSON line: offered and accepted rates, orders terminal,
 * p50/p95/p99 POST -> terminal (from each order's status history), CPU-ms per
 * order of every process (services, launcher, broker, and PostgreSQL per
 * database, from /proc), committed transactions per order per database
 * (`pg_stat_database`), and bus messages per order. Then the same for the
 * baseline, a bare Postgres pipeline with as many durable hops per order, and
 * a final summary line: `maxSustainableRate` (the highest step where every
 * order was accepted and terminal within 5 s of the step's end, with p99 below
 * 1 s), `cpuMsPerOrder` and transactions per order at that rate, and the
 * ratios platform / bare of both.
 *
 * `--pg-statements` loads pg_stat_statements and adds to each step the
 * statements run per order in every database (calls and execution time).
 * `--keep-going` goes on stepping up after a step that was not sustained.
 * `--refine K` then halves the gap between the last sustained step and the
 * first missed one K times (2 with `--observability`, else 0), so the rate
 * is known to a quarter of a step (`rate-search.ts`). `--p99-below MS`
 * changes the p99 bound of a sustained step (1,000 ms), for a machine too
 * slow to meet it at any rate.
 *
 * `--peer temporal` runs the same saga on the peer users would pick instead,
 * in the same run, after the platform and its baseline: the Temporal CLI's
 * dev server (built once into a cache with Go; skipped with the reason where
 * Go is missing), one worker whose activities append to the platform's
 * Postgres event store, driven at the same rates (`--peer-rates` to change
 * them) and measured the same way, once per `--peer-persistence` (the
 * server's state in a SQLite file, durable as the platform's commits are, and
 * in memory; `disk-wal` adds the SQLite file in WAL mode). The summary then holds each peer's figures and the ratios
 * platform / peer (see `temporal/temporal-peer.ts`).
 *
 * `--quick` (rates 25,100,200 and 15 s steps unless given; 10,25,100,200 with
 * a peer, whose dev server sustains less than 25) finishes in a few
 * minutes.
 *
 * `--observability [--configurations off,metrics,metrics+tracing]` measures what metrics and tracing cost instead (rates
 * 60..110 by default): the steps on three fresh stacks, without metrics or
 * tracing, with metrics scraped every 5 s (`--scraper fetch|prometheus`), and with
 * tracing too (every span sampled, exported to Jaeger), then the ratios of
 * their sustainable rates and CPU per order (see `observabilityCost`). With
 * tracing, 20 orders' traces per step are then looked up in Jaeger
 * (`{"traces":{…}}`): the tracing ratio is met only when every one arrived
 * whole. `--rounds N` runs the configurations N times in alternating order
 * (A B, B A, ...) and takes each ratio as the median of the rounds' own.
 *
 * `--cpu-prof DIR` runs every service with `--cpu-prof`, writing a
 * profile per process into DIR when the stack stops.
 * Progress goes to stderr; stdout holds only the JSON lines.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import kafkajs from 'kafkajs';
import { LocalStack, stopAllStacks } from '../test/support/local-stack';
import { SERVICES, serviceEntry } from '../local/stack';
import { PrometheusServer, prometheusPath } from '../observability/prometheus-server';
import { runBarePipeline, perOrder } from './bare-pipeline';
import { hasPendingOrders, httpRequest, ordersOf, percentile, placeOrdersOpenLoop, type OrderOutcome } from './order-load';
import { CpuMeter, cmdline, environ, postgresGroup, readPid } from './process-cpu';
import { DEFAULT_CRITERIA, STATS_SETTLE_MS, sustained, type StepResult } from './saga-steps';
import { median, roundOrder, searchSustainableRate } from './rate-search';
import { spread, traceCompleteness, type TraceCompleteness } from './trace-completeness';
import { ensureTemporalCli } from './temporal/temporal-cli';
import { TEMPORAL_PERSISTENCE, runTemporalPeer } from './temporal/temporal-peer';

const { values } = parseArgs({
  options: {
    bus: { type: 'string', default: 'postgres' },
    rates: { type: 'string' },
    seconds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    skus: { type: 'string', default: '400' },
    decline: { type: 'string', default: '0.1' },
    'no-baseline': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'keep-going': { type: 'boolean', default: false },
    'pg-statements': { type: 'boolean', default: false },
    peer: { type: 'string' },
    'peer-persistence': { type: 'string', default: 'disk,memory' },
    'peer-rates': { type: 'string' },
    observability: { type: 'boolean', default: false },
    configurations: { type: 'string' },
    scraper: { type: 'string', default: 'fetch' },
    refine: { type: 'string' },
    'p99-below': { type: 'string' },
    rounds: { type: 'string' },
  },
});
if (values.peer !== undefined && values.peer !== 'temporal') throw new Error(`--peer must be temporal, not ${values.peer}`);
const peerPersistence = values['peer-persistence'].split(',').map((p) => {
  const known = TEMPORAL_PERSISTENCE.find((k) => k === p);
  if (!known) throw new Error(`--peer-persistence takes ${TEMPORAL_PERSISTENCE.join(', ')}, not ${p}`);
  return known;
});
if (values.bus !== 'postgres' && values.bus !== 'kafka') throw new Error(`--bus must be postgres or kafka, not ${values.bus}`);
const bus: 'postgres' | 'kafka' = values.bus;
const defaultRates = values.observability
  ? values.quick
    ? '70,85,100'
    : '60,70,80,85,90,95,100,110'
  : values.quick
    ? values.peer
      ? '10,25,100,200'
      : '25,100,200'
    : '10,25,50,100,150,200,300';
const rates = (values.rates ?? defaultRates).split(',').map(Number);
const peerRates = values['peer-rates'] ? values['peer-rates'].split(',').map(Number) : rates;
const seconds = Number(values.seconds ?? (values.quick ? 15 : 30));
const skuCount = Number(values.skus);
const declineShare = Number(values.decline);
/**
 * What a sustained step is: `DEFAULT_CRITERIA` (p99 POST -> terminal below
 * 1 s), or `--p99-below MS` on a machine too slow to meet it at any rate:
 * the ratios between configurations are then taken at that bound.
 */
const criteria = values['p99-below'] === undefined ? DEFAULT_CRITERIA : { ...DEFAULT_CRITERIA, p99BelowMs: p99Bound(values['p99-below']) };
/** Halvings of the gap between the last sustained step and the first that was not (`--refine`; 2 with `--observability`). */
const refineSteps = positiveInteger('refine', values.refine ?? (values.observability ? '2' : '0'), 0);
/** `--observability`: how many times the configurations run, in alternating order (`--rounds`). */
const rounds = positiveInteger('rounds', values.rounds ?? '1', 1);
const log = (line: string) => process.stderr.write(`${line}\n`);
const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const round = (n: number) => Math.round(n * 100) / 100;

function p99Bound(value: string): number {
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 100 || ms > 60_000) throw new Error(`--p99-below takes milliseconds from 100 to 60000, not ${value}`);
  return ms;
}

function positiveInteger(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > 10) throw new Error(`--${name} takes a whole number from ${min} to 10, not ${value}`);
  return n;
}

/** The platform's durable hops per order on the happy path (one line): the bus messages of one place-order saga. */
const PLATFORM_HOPS = 14;
/** Traced orders per step whose traces are looked up in Jaeger after the run (`--observability`, `--tracing`). */
const TRACES_PER_STEP = 20;

/** The hop at which the order is confirmed (`order.confirmed` is the 10th message of the saga). */
const TERMINAL_HOP = 10;

/**
 * The platform's steps on a fresh local stack: seeded, warmed up, then one
 * step per rate until one is not sustained. `scrape` runs a real Prometheus
 * (Debian's package; a plain 5 s scrape loop where there is none) against
 * every service's `/metrics` meanwhile, as production would.
 */
async function runPlatform(
  options: { env?: Record<string, string>; args?: string[]; scrape?: boolean; label?: string; round?: number } = {},
): Promise<{ steps: StepResult[]; traces?: TraceCompleteness }> {
  const env: Record<string, string> = { LOG_LEVEL: 'warn', ...options.env };
  if (values['cpu-prof']) {
    const dir = path.resolve(values['cpu-prof']);
    await fs.mkdir(dir, { recursive: true });
    env.SHOP_SERVICE_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${dir}`;
  }
  if (values['pg-statements']) env.SHOP_POSTGRES_SETTINGS = 'shared_preload_libraries=pg_stat_statements,pg_stat_statements.track=all';
  log(`starting the local stack (bus: ${bus}${options.label ? `, ${options.label}` : ''})...`);
  const stack = await LocalStack.start({ bus, args: ['--no-demo-data', ...(options.args ?? [])], env });
  const platform: StepResult[] = [];
  let traces: TraceCompleteness | undefined;
  const scraper = options.scrape ? await startScraper(stack) : undefined;
  try {
    const admin = await stack.token('admin');
    const skus = await seedCatalog(stack, admin, skuCount);
    const measure = await stackMeasurement(stack);
    log(`warming up (10 s at 10 orders/s)...`);
    await runStep(stack, measure, admin, 0, 10, 10, skus);
    const jaeger = stack.stack.tracing?.jaegerUi;
    const traceSample: string[] | undefined = jaeger ? [] : undefined;
    await searchSustainableRate(
      rates,
      {
        refine: refineSteps,
        keepGoing: values['keep-going'],
        onMissed: () => log(`step ${platform.length} was not sustained; not going higher`),
        onRefine: (lo, hi) => log(`refining between ${lo} and ${hi} orders/s`),
      },
      async (rate) => {
        const n = platform.length + 1;
        log(`step ${n}: ${rate} orders/s for ${seconds} s`);
        const result = await runStep(stack, measure, admin, n, rate, seconds, skus, traceSample);
        const labelled = options.label ? { ...result, observability: options.label, ...(rounds > 1 ? { round: options.round } : {}) } : result;
        platform.push(labelled);
        out(labelled);
        return result.sustained;
      },
    );
    if (jaeger && traceSample) {
      log(`looking up ${traceSample.length} of the orders' traces in Jaeger...`);
      traces = await traceCompleteness(jaeger, traceSample, SERVICES.map((s) => s.name));
      out({ traces, ...(options.label ? { observability: options.label, ...(rounds > 1 ? { round: options.round } : {}) } : {}) });
    }
    await measure.close();
  } finally {
    await scraper?.stop();
    log('stopping the local stack...');
    await stopAllStacks();
  }
  return { steps: platform, ...(traces ? { traces } : {}) };
}

/**
 * Scrapes every service's `/metrics` every 5 s. `--scraper fetch` (the
 * default): GETs from the bench process, what Prometheus would send, so the
 * services bear the whole cost of their metrics and nothing else does;
 * `--scraper prometheus`: a real Prometheus with the alert rules, on the
 * same two cores (its own CPU then counts against the stack's rate).
 */
async function startScraper(stack: LocalStack): Promise<{ stop(): Promise<void> }> {
  if (values.scraper === 'prometheus' && prometheusPath()) {
    const prometheus = new PrometheusServer({
      dataDir: path.join(path.dirname(stack.dataDir), 'prometheus'),
      targets: Object.fromEntries(SERVICES.map((s) => [s.name, new URL(stack.url(s.name)).host])),
      scrapeIntervalSeconds: 5,
    });
    await prometheus.start();
    log(`Prometheus ${prometheus.url} scrapes the services every 5 s`);
    return prometheus;
  }
  log(values.scraper === 'prometheus' ? 'no prometheus binary: scraping /metrics every 5 s with fetch' : 'scraping /metrics every 5 s with fetch');
  const timer = setInterval(() => {
    for (const s of SERVICES) void fetch(`${stack.url(s.name)}/metrics`).then((r) => r.text(), () => undefined);
  }, 5_000);
  return { stop: async () => clearInterval(timer) };
}

/**
 * `--observability`: what tracing and metrics cost, in one run: the same
 * steps on fresh stacks, without metrics (`SHOP_METRICS=off`) or tracing;
 * with metrics scraped every 5 s; with metrics and tracing (every span
 * sampled, exported over OTLP to a Jaeger beside the stack). Each stack
 * climbs the rates, then halves the gap between its last sustained step and
 * its first missed one `--refine` times, so that its sustainable rate is
 * known to a quarter of a step rather than a whole one. With `--rounds N`
 * the configurations run N times, in alternating order (off first, then
 * last, then first...), so that a machine growing slower or faster over the
 * run weighs on both sides alike; every ratio is the median of the rounds'
 * ratios, each taken within its round. The summary holds each
 * configuration's sustainable rate and CPU per order, and the ratios
 * against the first.
 */
async function observabilityCost(startedAt: number): Promise<void> {
  const configurations: { label: string; env?: Record<string, string>; args?: string[]; scrape?: boolean }[] = [
    { label: 'off', env: { SHOP_METRICS: 'off' } },
    { label: 'metrics', scrape: true },
    // Every span sampled unless OTEL_TRACES_SAMPLER says otherwise (`parentbased_traceidratio` with `OTEL_TRACES_SAMPLER_ARG=0.1`: one order in ten).
    { label: 'metrics+tracing', args: ['--tracing'], env: { OTEL_TRACES_SAMPLER: process.env.OTEL_TRACES_SAMPLER ?? 'always_on' }, scrape: true },
  ];
  const wanted = values.configurations?.split(',');
  for (const w of wanted ?? []) if (!configurations.some((c) => c.label === w)) throw new Error(`--configurations takes ${configurations.map((c) => c.label).join(', ')}, not ${w}`);
  const chosen = configurations.filter((c) => !wanted || wanted.includes(c.label));
  const runs: { round: number; label: string; steps: StepResult[]; traces?: TraceCompleteness }[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const c of roundOrder(chosen, r)) runs.push({ round: r, label: c.label, ...(await runPlatform({ ...c, round: r })) });
  }
  const runOf = (round: number, label: string) => runs.find((x) => x.round === round && x.label === label);
  const roundNumbers = Array.from({ length: rounds }, (_, i) => i + 1);
  /** Within one round: the highest rate every configuration sustained, for CPU per order at the same load. */
  const commonRate = (r: number) => {
    const sets = chosen.map((c) => new Set(runOf(r, c.label)!.steps.filter((s) => s.sustained).map((s) => s.offeredRate)));
    return [...sets[0]!].filter((rate) => sets.every((set) => set.has(rate))).sort((a, b) => b - a)[0];
  };
  const sustainedRate = (r: number, label: string) => best(runOf(r, label)!.steps)?.offeredRate ?? 0;
  const atCommon = (r: number, label: string) => {
    const rate = commonRate(r);
    return rate === undefined ? undefined : runOf(r, label)!.steps.find((s) => s.offeredRate === rate);
  };
  const allTraces = (label: string): TraceCompleteness | undefined => {
    const checks = runs.filter((x) => x.label === label && x.traces).map((x) => x.traces!);
    if (checks.length === 0) return undefined;
    const spans = checks.flatMap((c) => (c.spans ? [c.spans] : []));
    return {
      sampled: checks.reduce((n, c) => n + c.sampled, 0),
      found: checks.reduce((n, c) => n + c.found, 0),
      whole: checks.reduce((n, c) => n + c.whole, 0),
      spans: spans.length > 0 ? { min: Math.min(...spans.map((x) => x.min)), median: median(spans.map((x) => x.median))!, max: Math.max(...spans.map((x) => x.max)) } : null,
      incomplete: checks.flatMap((c) => c.incomplete).slice(0, 5),
    };
  };
  const figures = (label: string) => {
    const top = (r: number) => best(runOf(r, label)!.steps);
    const traces = allTraces(label);
    return {
      maxSustainableRate: median(roundNumbers.map((r) => sustainedRate(r, label))) ?? 0,
      ...(rounds > 1 ? { byRound: roundNumbers.map((r) => sustainedRate(r, label)) } : {}),
      cpuMsPerOrder: median(roundNumbers.flatMap((r) => (top(r) ? [top(r)!.cpuMsPerOrder.total] : []))),
      p99Ms: median(roundNumbers.flatMap((r) => (top(r)?.p99Ms != null ? [top(r)!.p99Ms!] : []))),
      ...(traces ? { traces } : {}),
      atCommonRate: roundNumbers.map((r) => {
        const s = atCommon(r, label);
        return s ? { round: r, rate: s.offeredRate, cpuMsPerOrder: s.cpuMsPerOrder.total, p50Ms: s.p50Ms, p99Ms: s.p99Ms } : { round: r, rate: null };
      }),
    };
  };
  const ratio = (label: string, floor: number) => {
    const byRound = roundNumbers.map((r) => {
      const off = sustainedRate(r, 'off');
      return off > 0 ? round(sustainedRate(r, label) / off) : 0;
    });
    const cpu = roundNumbers.flatMap((r) => {
      const [a, o] = [atCommon(r, label), atCommon(r, 'off')];
      return a && o ? [round(a.cpuMsPerOrder.total / o.cpuMsPerOrder.total)] : [];
    });
    const rate = round(median(byRound) ?? 0);
    // A traced rate kept by losing spans does not count: every sampled trace must have arrived whole.
    const traces = allTraces(label);
    const tracesWhole = traces === undefined || (traces.sampled > 0 && traces.whole === traces.sampled);
    return {
      sustainableRate: rate,
      ...(rounds > 1 ? { byRound } : {}),
      required: floor,
      met: rate >= floor && tracesWhole,
      ...(traces ? { tracesWhole } : {}),
      ...(cpu.length > 0 ? { cpuMsPerOrderAtCommonRate: median(cpu) } : {}),
    };
  };
  const has = (label: string) => chosen.some((c) => c.label === label);
  out({
    summary: true,
    observability: true,
    bus,
    configurations: Object.fromEntries(chosen.map((c) => [c.label, figures(c.label)])),
    ratios: has('off')
      ? Object.fromEntries(
          [
            ['metrics', 0.97],
            ['metrics+tracing', 0.85],
          ]
            .filter(([label]) => has(label as string))
            .map(([label, floor]) => [label, ratio(label as string, floor as number)]),
        )
      : null,
    notes: 'Jaeger and Prometheus run on the same two cores: their load is in the sustainable rate, not in cpuMsPerOrder (services, launcher and PostgreSQL only).',
    criteria,
    rates,
    refine: refineSteps,
    rounds,
    stepSeconds: seconds,
    runSeconds: Math.round((Date.now() - startedAt) / 1000),
  });
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  if (values.observability) {
    await observabilityCost(startedAt);
    return;
  }
  const { steps: platform } = await runPlatform();

  let bare: StepResult[] = [];
  if (!values['no-baseline']) {
    log(`baseline: bare Postgres pipeline, ${PLATFORM_HOPS} hops per order`);
    bare = await runBarePipeline({ rates, seconds, hops: PLATFORM_HOPS, terminalHop: TERMINAL_HOP, criteria, log: (line) => out(JSON.parse(line)) });
  }

  const peers = values.peer ? await runPeers(platform) : undefined;

  const ours = best(platform);
  const theirs = best(bare);
  out({
    summary: true,
    bus,
    maxSustainableRate: ours?.offeredRate ?? 0,
    cpuMsPerOrder: ours?.cpuMsPerOrder.total ?? null,
    transactionsPerOrder: ours?.transactionsPerOrder.total ?? null,
    messagesPerOrder: ours?.messagesPerOrder ?? null,
    readSideShare: ours?.readSideShare ?? null,
    p99Ms: ours?.p99Ms ?? null,
    baseline: theirs
      ? { system: 'bare-postgres-pipeline', hops: PLATFORM_HOPS, maxSustainableRate: theirs.offeredRate, cpuMsPerOrder: theirs.cpuMsPerOrder.total, transactionsPerOrder: theirs.transactionsPerOrder.total, p99Ms: theirs.p99Ms }
      : null,
    ratios:
      ours && theirs
        ? { sustainableRate: round(ours.offeredRate / theirs.offeredRate), cpuMsPerOrder: round(ours.cpuMsPerOrder.total / theirs.cpuMsPerOrder.total) }
        : null,
    ...(peers ? { peers } : {}),
    criteria,
    rates,
    stepSeconds: seconds,
    runSeconds: Math.round((Date.now() - startedAt) / 1000),
  });
}

const best = (results: StepResult[]) => [...results].filter((r) => r.sustained).sort((a, b) => b.offeredRate - a.offeredRate)[0];

/**
 * The peers' runs and their summaries: each peer's sustainable rate, CPU per
 * saga (by process) and latency there, and the ratios platform / peer, both
 * at each system's own sustainable rate and at the highest rate both
 * sustained (the same load on both).
 */
async function runPeers(platform: StepResult[]): Promise<Record<string, unknown>[]> {
  const cli = await ensureTemporalCli(log);
  if ('skipped' in cli) {
    log(`peer temporal skipped: ${cli.skipped}`);
    return [{ system: 'temporal-dev-server', skipped: cli.skipped }];
  }
  const ours = best(platform);
  const summaries: Record<string, unknown>[] = [];
  for (const persistence of peerPersistence) {
    log(`peer: the place-order saga on the Temporal CLI ${cli.version} dev server, persistence ${persistence}`);
    const steps = await runTemporalPeer({
      cli: cli.path,
      persistence,
      rates: peerRates,
      seconds,
      criteria,
      declineShare,
      skus: Array.from({ length: skuCount }, (_, i) => `BENCH-${String(i + 1).padStart(5, '0')}`),
      keepGoing: values['keep-going'],
      log,
      emit: out,
    });
    const theirs = best(steps);
    const sameRate = theirs ? platform.find((p) => p.sustained && p.offeredRate === theirs.offeredRate) : undefined;
    summaries.push({
      system: `temporal-dev-server-${persistence}`,
      temporalCli: cli.version,
      persistence,
      /** Whether a started workflow survives the server's crash, as a 202'd order survives the platform's. */
      durable: persistence !== 'memory',
      comparison:
        persistence !== 'memory'
          ? 'fair: a started workflow is in a SQLite file (synchronous=FULL) before the start returns, as a 202 order is committed'
          : 'not like for like: the server keeps its state in memory, so a crash loses every started workflow',
      maxSustainableRate: theirs?.offeredRate ?? 0,
      cpuMsPerOrder: theirs?.cpuMsPerOrder ?? null,
      transactionsPerOrder: theirs?.transactionsPerOrder.total ?? null,
      p50Ms: theirs?.p50Ms ?? null,
      p99Ms: theirs?.p99Ms ?? null,
      ratios:
        ours && theirs
          ? {
              sustainableRate: round(ours.offeredRate / theirs.offeredRate),
              cpuMsPerOrder: round(ours.cpuMsPerOrder.total / theirs.cpuMsPerOrder.total),
              ...(sameRate
                ? { atSameRate: { rate: sameRate.offeredRate, platformCpuMsPerOrder: sameRate.cpuMsPerOrder.total, peerCpuMsPerOrder: theirs.cpuMsPerOrder.total, cpuMsPerOrder: round(sameRate.cpuMsPerOrder.total / theirs.cpuMsPerOrder.total) } }
                : {}),
            }
          : null,
    });
  }
  return summaries;
}

/** Products with a million units each, through the services' admin APIs. */
async function seedCatalog(stack: LocalStack, admin: string, count: number): Promise<string[]> {
  log(`seeding ${count} products with stock...`);
  const skus = Array.from({ length: count }, (_, i) => `BENCH-${String(i + 1).padStart(5, '0')}`);
  const post = async (url: string, body: unknown, key: string) => {
    const payload = JSON.stringify(body);
    const res = await httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, 'idempotency-key': key, 'content-length': String(Buffer.byteLength(payload)) },
      body: payload,
    });
    if (res.status >= 300 && res.status !== 409) throw new Error(`${url}: ${res.status} ${res.body.slice(0, 300)}`);
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < skus.length) {
        const sku = skus[next++]!;
        await post(
          `${stack.url('catalog-service')}/v1/products`,
          { sku, name: `Bench product ${sku}`, description: 'A product of the saga benchmark.', category: 'bench', price: { amount: 100 + (next % 900), currency: 'EUR' } },
          `bench-product-${sku}`,
        );
        await post(`${stack.url('inventory-service')}/v1/stock/${sku}/receipts`, { quantity: 1_000_000 }, `bench-stock-${sku}`);
      }
    }),
  );
  // Let the relays and analytics absorb the seeding before measuring.
  await new Promise((r) => setTimeout(r, 5_000));
  return skus;
}

interface StackMeasurement {
  meter: CpuMeter;
  commits(): Promise<Record<string, number>>;
  /** pg_stat_statements, when loaded: reset, and the statements since, per database. */
  resetStatements(): Promise<void>;
  statements(orders: number): Promise<Record<string, { query: string; callsPerOrder: number; msPerOrder: number }[]> | undefined>;
  busMessages(): Promise<number>;
  close(): Promise<void>;
}

async function stackMeasurement(stack: LocalStack): Promise<StackMeasurement> {
  const stateDir = stack.dataDir;
  const postmasterPid = readPid(path.join(stateDir, 'postgres', 'postmaster.pid'));
  if (!postmasterPid) throw new Error('cannot find the stack\'s PostgreSQL');
  const brokerPid = bus === 'kafka' ? readPid(path.join(stateDir, 'kafka', 'broker.pid')) : undefined;
  const busUrl = stack.stack.databases.bus!.url;
  const serviceBusUrl = stack.stack.databases.bus!.socketUrl ?? busUrl;
  const entries = new Map(SERVICES.map((s) => [serviceEntry(s.folder), s.name]));
  const meter = new CpuMeter((pid, stat) => {
    const pgGroup = postgresGroup(postmasterPid, pid, stat);
    if (pgGroup) return pgGroup;
    if (pid === brokerPid) return 'kafka';
    const args = cmdline(pid);
    const service = args.map((a) => entries.get(a)).find(Boolean);
    if (service && environ(pid).includes(`BUS_DATABASE_URL=${serviceBusUrl}`)) return service;
    if (stat.pgrp === stack.pgid) return 'launcher';
    return undefined;
  });
  const superuser = (await fs.readFile(path.join(stateDir, 'postgres.superuser'), 'utf8')).trim();
  const stats = new pg.Client({ host: stack.stack.postgres.host, port: stack.stack.postgres.port, user: 'postgres', password: superuser, database: 'postgres' });
  await stats.connect();
  const busDb = bus === 'postgres' ? new pg.Client({ connectionString: busUrl }) : undefined;
  await busDb?.connect();
  const kafka = bus === 'kafka' ? new kafkajs.Kafka({ brokers: [stack.kafka().brokers], logLevel: kafkajs.logLevel.NOTHING }).admin() : undefined;
  await kafka?.connect();
  const pgStatements = values['pg-statements'];
  if (pgStatements) await stats.query('create extension if not exists pg_stat_statements');
  return {
    meter,
    async resetStatements() {
      if (pgStatements) await stats.query('select pg_stat_statements_reset()');
    },
    async statements(orders) {
      if (!pgStatements) return undefined;
      const res = await stats.query<{ datname: string; query: string; calls: string; ms: number }>(
        `select d.datname, s.query, s.calls, s.total_exec_time as ms from pg_stat_statements s join pg_database d on d.oid = s.dbid
         where d.datname = any($1) order by s.total_exec_time desc`,
        [Object.keys(stack.stack.databases)],
      );
      const out: Record<string, { query: string; callsPerOrder: number; msPerOrder: number }[]> = {};
      for (const r of res.rows) {
        const list = (out[r.datname] ??= []);
        if (list.length < 12) list.push({ query: r.query.replace(/\s+/g, ' ').slice(0, 160), callsPerOrder: round(Number(r.calls) / orders), msPerOrder: round(r.ms / orders) });
      }
      return out;
    },
    async commits() {
      const res = await stats.query<{ datname: string; n: string }>(
        `select datname, xact_commit as n from pg_stat_database where datname = any($1)`,
        [Object.keys(stack.stack.databases)],
      );
      return Object.fromEntries(res.rows.map((r) => [r.datname, Number(r.n)]));
    },
    async busMessages() {
      if (busDb) return Number((await busDb.query<{ n: string }>('select coalesce(sum(next_offset), 0) as n from bus_partitions')).rows[0]!.n);
      const topics = (await kafka!.listTopics()).filter((t) => !t.startsWith('__'));
      let n = 0;
      for (const t of topics) for (const p of await kafka!.fetchTopicOffsets(t)) n += Number(p.high);
      return n;
    },
    async close() {
      await stats.end();
      await busDb?.end();
      await kafka?.disconnect();
    },
  };
}

async function runStep(
  stack: LocalStack,
  m: StackMeasurement,
  admin: string,
  step: number,
  rate: number,
  stepSeconds: number,
  skus: string[],
  traceSample?: string[],
): Promise<StepResult> {
  const customer = `bench-${Date.now().toString(36)}-step${step}`;
  const customerToken = await stack.token('customer', customer);
  const orderUrl = stack.url('order-service');
  const commitsBefore = await m.commits();
  const messagesBefore = await m.busMessages();
  await m.resetStatements();
  m.meter.start();
  const clientStart = process.cpuUsage();
  const load = await placeOrdersOpenLoop({
    orderServiceUrl: orderUrl,
    customerToken,
    rate,
    seconds: stepSeconds,
    skus,
    // Every n-th order declined, spread evenly.
    paymentToken: (i) => (declineShare > 0 && i % Math.round(1 / declineShare) === 0 ? 'tok_decline' : 'tok_approve'),
  });
  // Drain: wait until the read model has every order and none is pending, or the drain limit.
  const drainUntil = load.endedAt + criteria.drainLimitMs;
  let outcomes: OrderOutcome[];
  for (;;) {
    const pending = await hasPendingOrders(orderUrl, admin, customer);
    if (!pending) {
      outcomes = await ordersOf(orderUrl, admin, customer);
      if (outcomes.length >= load.placed.length && outcomes.every((o) => o.terminalAt !== undefined)) break;
    }
    if (Date.now() > drainUntil) {
      outcomes = await ordersOf(orderUrl, admin, customer);
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // A backend reports its transaction counts to pg_stat_database at most once a
  // second, and an idle one a little later: let every count arrive.
  await new Promise((r) => setTimeout(r, STATS_SETTLE_MS));
  const cpu = m.meter.stop();
  const client = process.cpuUsage(clientStart);
  const commitsAfter = await m.commits();
  const messagesAfter = await m.busMessages();
  const statements = await m.statements(Math.max(1, load.placed.length));

  traceSample?.push(...spread(load.placed.flatMap((p) => (p.traceId ? [p.traceId] : [])), TRACES_PER_STEP));
  const sentAt = new Map(load.placed.map((p) => [p.orderId, p.sentAt]));
  const latencies: number[] = [];
  let terminal = 0;
  let withinDeadline = 0;
  const statuses: Record<string, number> = {};
  for (const o of outcomes) {
    const sent = sentAt.get(o.orderId);
    if (sent === undefined) continue;
    statuses[o.status] = (statuses[o.status] ?? 0) + 1;
    if (o.terminalAt === undefined) continue;
    terminal++;
    latencies.push(Math.max(0, o.terminalAt - sent));
    if (o.terminalAt <= load.endedAt + criteria.terminalWithinMs) withinDeadline++;
  }
  latencies.sort((a, b) => a - b);
  const accepted = load.placed.length;
  const byDatabase: Record<string, number> = {};
  for (const [db, after] of Object.entries(commitsAfter)) byDatabase[db] = round((after - (commitsBefore[db] ?? 0)) / Math.max(1, accepted));
  const postMs = load.placed.map((p) => p.postMs).sort((a, b) => a - b);
  const result: StepResult = {
    system: 'platform',
    bus,
    step,
    offeredRate: rate,
    acceptedRate: round(accepted / stepSeconds),
    offered: load.offered,
    accepted,
    failed: load.failures.length,
    terminal,
    terminalWithinDeadline: withinDeadline,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    postP99Ms: round(percentile(postMs, 99) ?? 0),
    statuses,
    cpuMsPerOrder: perOrder(cpu.byGroup, cpu.totalMs, accepted),
    /** The read side's share of that CPU: analytics and its database backends. */
    readSideShare: round(((cpu.byGroup['analytics-service'] ?? 0) + (cpu.byGroup['postgres:analytics'] ?? 0)) / Math.max(1, cpu.totalMs)),
    cpuCoresBusy: round(cpu.totalMs / cpu.wallMs),
    /** The load generator's own share of the machine (not counted above). */
    clientCpuCores: round((client.user + client.system) / 1000 / cpu.wallMs),
    transactionsPerOrder: { total: round(Object.values(byDatabase).reduce((a, b) => a + b, 0)), byDatabase },
    messagesPerOrder: round((messagesAfter - messagesBefore) / Math.max(1, accepted)),
    windowSeconds: round(cpu.wallMs / 1000),
    sustained: false,
    ...(load.failures.length > 0 ? { firstFailures: load.failures.slice(0, 3) } : {}),
    ...(statements ? { statements } : {}),
  };
  result.sustained = sustained(result, criteria);
  return result;
}

main().catch(async (err: unknown) => {
  console.error(err);
  await stopAllStacks().catch(() => undefined);
  process.exit(1);
});
