import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@shop/platform/testing';
import { JaegerServer, jaegerScheduling, jaegerUnavailableReason } from '../jaeger/jaeger-server';

/**
 * The Jaeger the stack's traces go to (`infra/jaeger`): built from the Go
 * module proxy, started on free ports, fed OTLP, read back through its query
 * API, stopped. Without Go (and no cached binary) the test is skipped with a
 * warning, unless CI is set, where it fails.
 */
const unavailable = await jaegerUnavailableReason();
if (unavailable) {
  if (process.env.CI) throw new Error(`the Jaeger tests need Jaeger: ${unavailable}`);
  console.warn(`skipping the Jaeger tests: ${unavailable}`);
}

describe.skipIf(Boolean(unavailable))('Jaeger (infra/jaeger)', () => {
  let dir: string;
  let jaeger: JaegerServer;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-jaeger-test-'));
    jaeger = new JaegerServer({ dataDir: dir });
    await jaeger.start();
  }, 900_000);

  afterAll(async () => {
    await jaeger?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('takes spans over OTLP/HTTP and gives the trace back by id through its query API', async () => {
    const traceId = randomBytes(16).toString('hex');
    const rootId = randomBytes(8).toString('hex');
    const childId = randomBytes(8).toString('hex');
    const now = BigInt(Date.now()) * 1_000_000n;
    const span = (spanId: string, name: string, parent?: string) => ({
      traceId,
      spanId,
      ...(parent ? { parentSpanId: parent } : {}),
      name,
      kind: parent ? 4 : 2,
      startTimeUnixNano: String(now),
      endTimeUnixNano: String(now + 5_000_000n),
      attributes: [{ key: 'messaging.destination.name', value: { stringValue: 'order.events' } }],
    });
    const res = await fetch(`${jaeger.otlpHttpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'order-service' } }] },
            scopeSpans: [{ scope: { name: 'test' }, spans: [span(rootId, 'POST /v1/orders'), span(childId, 'publish order.events', rootId)] }],
          },
        ],
      }),
    });
    expect(res.status).toBe(200);

    let trace: { spans: { spanID: string; operationName: string; references?: { refType: string; spanID: string }[]; processID: string }[]; processes: Record<string, { serviceName: string }> } | undefined;
    await waitFor(async () => {
      const got = await fetch(`${jaeger.queryUrl}/api/traces/${traceId}`);
      if (got.status !== 200) return false;
      trace = ((await got.json()) as { data: NonNullable<typeof trace>[] }).data[0];
      return (trace?.spans.length ?? 0) === 2;
    }, 15_000);
    const byName = Object.fromEntries(trace!.spans.map((s) => [s.operationName, s]));
    expect(Object.keys(byName).sort()).toEqual(['POST /v1/orders', 'publish order.events']);
    expect(byName['publish order.events']!.references).toEqual([expect.objectContaining({ refType: 'CHILD_OF', spanID: rootId })]);
    expect(trace!.processes[byName['POST /v1/orders']!.processID]!.serviceName).toBe('order-service');
    // An unknown trace is a 404, not an empty success.
    expect((await fetch(`${jaeger.queryUrl}/api/traces/${randomBytes(16).toString('hex')}`)).status).toBe(404);
  });

  it('runs behind the stack it collects from: nice 10 and one Go processor, unless told otherwise', async () => {
    const pid = jaeger.pid!;
    // /proc/<pid>/stat: the 19th field is the nice value (after the command in parentheses).
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[16])).toBe(10);
    const environ = (await fs.readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    expect(environ).toContain('GOMAXPROCS=1');
    expect(jaegerScheduling({}, { SHOP_JAEGER_NICE: '0', SHOP_JAEGER_GOMAXPROCS: '2' })).toEqual({ nice: 0, goMaxProcs: 2 });
    expect(jaegerScheduling({ nice: 5 }, {})).toEqual({ nice: 5, goMaxProcs: 1 });
    expect(() => jaegerScheduling({}, { SHOP_JAEGER_NICE: '20' })).toThrow(/from 0 to 19, got '20'/);
    expect(() => jaegerScheduling({}, { SHOP_JAEGER_GOMAXPROCS: 'two' })).toThrow(/from 1 to 1024/);
  });

  it('stops promptly on SIGTERM, leaving nothing listening', async () => {
    const url = jaeger.queryUrl;
    const pid = jaeger.pid!;
    const t0 = performance.now();
    await jaeger.stop();
    // Not by the SIGKILL of the 10 s bound (Jaeger tracing itself to a missing collector once made every stop wait 10 s).
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(fetch(`${url}/api/services`)).rejects.toThrow();
  });
});
