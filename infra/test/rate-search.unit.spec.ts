import { describe, expect, it } from 'vitest';
import { median, roundOrder, searchSustainableRate } from '../bench/rate-search';

/** A machine that sustains every rate up to `capacity` (a step is one call). */
const machine = (capacity: number) => async (rate: number) => rate <= capacity;

describe('searchSustainableRate', () => {
  it('climbs until a step is missed, then halves the gap: a quarter of a step after two halvings', async () => {
    const found = await searchSustainableRate([20, 30, 40, 50], { refine: 2 }, machine(37));
    expect(found.tried).toEqual([20, 30, 40, 35, 37.5]);
    expect(found).toMatchObject({ sustained: 35, missed: 37.5 });
    const finer = await searchSustainableRate([20, 30, 40, 50], { refine: 2 }, machine(39));
    expect(finer.tried).toEqual([20, 30, 40, 35, 37.5]);
    expect(finer).toMatchObject({ sustained: 37.5, missed: 40 });
  });

  it('without refining, the last sustained step is the rate (as bench:saga did before)', async () => {
    const found = await searchSustainableRate([20, 30, 40, 50], { refine: 0 }, machine(37));
    expect(found).toEqual({ sustained: 30, missed: 40, tried: [20, 30, 40] });
  });

  it('refines below the first step when even that is missed', async () => {
    const found = await searchSustainableRate([20, 30], { refine: 2 }, machine(12));
    expect(found.tried).toEqual([20, 10, 15]);
    expect(found).toMatchObject({ sustained: 10, missed: 15 });
    const none = await searchSustainableRate([20, 30], { refine: 1 }, machine(3));
    expect(none).toMatchObject({ sustained: undefined, missed: 10 });
  });

  it('stops halving at half an order per second', async () => {
    const found = await searchSustainableRate([10, 11], { refine: 5 }, machine(10.2));
    expect(found.tried).toEqual([10, 11, 10.5]);
    expect(found).toMatchObject({ sustained: 10, missed: 10.5 });
  });

  it('the top step sustained: nothing to refine', async () => {
    const found = await searchSustainableRate([20, 30], { refine: 2 }, machine(100));
    expect(found).toEqual({ sustained: 30, missed: undefined, tried: [20, 30] });
  });

  it('--keep-going runs every step and does not refine', async () => {
    const found = await searchSustainableRate([20, 30, 40], { refine: 2, keepGoing: true }, machine(25));
    expect(found).toEqual({ sustained: 20, missed: 30, tried: [20, 30, 40] });
  });
});

describe('roundOrder and median', () => {
  it('alternates the configurations round by round', () => {
    expect([1, 2, 3, 4].map((r) => roundOrder(['off', 'traced'], r))).toEqual([
      ['off', 'traced'],
      ['traced', 'off'],
      ['off', 'traced'],
      ['traced', 'off'],
    ]);
  });

  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([0.7, 1.2, 0.9])).toBe(0.9);
    expect(median([1, 0.8, 0.9, 0.6])).toBeCloseTo(0.85);
    expect(median([])).toBeNull();
  });
});
