import { describe, expect, it } from 'vitest';
import { markTracingEnabled, shutdownTracing } from '../src/observability/tracing';

describe('stopping a traced service', () => {
  it('waits for the SDK to flush, but no longer than the bound when the collector is gone and the flush never ends', async () => {
    let flushed = false;
    markTracingEnabled(async () => {
      await new Promise((r) => setTimeout(r, 20));
      flushed = true;
    });
    await shutdownTracing(1_000);
    expect(flushed).toBe(true);

    markTracingEnabled(() => new Promise<void>(() => {}));
    const t0 = Date.now();
    await shutdownTracing(100);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
