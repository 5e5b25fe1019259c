import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../src/bus/partitioner';

describe('partitionForKey', () => {
  it('matches Kafka\'s default partitioner (murmur2, positive, modulo)', () => {
    // Expected values from Kafka's Java client: Utils.toPositive(Utils.murmur2(key.getBytes(UTF_8))) % n.
    const toPositive = (n: number) => n & 0x7fffffff;
    const javaMurmur2: Record<string, number> = {
      '21': -973932308,
      foobar: -790332482,
      'a-little-bit-long-string': -985981536,
      'a-little-bit-longer-string': -1486304829,
      lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
      abc: 479470107,
    };
    for (const [key, hash] of Object.entries(javaMurmur2)) {
      for (const n of [1, 3, 12, 100]) expect(partitionForKey(key, n)).toBe(toPositive(hash) % n);
    }
  });

  it('sends a key to the same partition every time, and spreads keys', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8_000; i++) {
      const p = partitionForKey(`order-${i}`, 8);
      expect(partitionForKey(`order-${i}`, 8)).toBe(p);
      counts[p]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(700);
  });
});
