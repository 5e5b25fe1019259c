import { describe, expect, it } from 'vitest';
import { unexpectedCrashesIn } from '../chaos/chaos-soak';

/** The chaos soak's count of crashes it did not cause, from the launcher's output (infra/local/start.ts onCrash). */
describe('unexpectedCrashesIn', () => {
  const output = [
    '  inventory-service    http://127.0.0.1:4102   (log: /tmp/s/logs/inventory-service.log)',
    '! inventory-service crashed (exit SIGKILL); restarting in 250 ms; see /tmp/s/logs/inventory-service.log',
    '! coordinator-service crashed (exit SIGKILL); restarting in 250 ms; see /tmp/s/logs/coordinator-service.log',
    '! inventory-service crashed (exit 1); restarting in 500 ms; see /tmp/s/logs/inventory-service.log',
    '! order-service crashed (exit SIGSEGV); restarting in 250 ms; see /tmp/s/logs/order-service.log',
    '! inventory-service crashed (exit 1); restarting in 1000 ms; see /tmp/s/logs/inventory-service.log',
  ].join('\n');

  it('counts only the exits that were not the soak\'s SIGKILLs, per service, with their lines', () => {
    const { unexpectedCrashes, unexpectedCrashLines } = unexpectedCrashesIn(output);
    expect(unexpectedCrashes).toEqual({ 'inventory-service': 2, 'order-service': 1 });
    expect(unexpectedCrashLines).toHaveLength(3);
    expect(unexpectedCrashLines[0]).toMatch(/^! inventory-service crashed \(exit 1\)/);
  });

  it('finds nothing when every crash was a kill', () => {
    expect(unexpectedCrashesIn(output.split('\n').slice(0, 3).join('\n'))).toEqual({ unexpectedCrashes: {}, unexpectedCrashLines: [] });
  });
});
