/**
 * How `bench:saga` finds a sustainable rate: climb the given rates until a
 * step is not sustained, then halve the gap between the last sustained rate
 * and that one `refine` times (to the nearest 0.5 order/s), so that the rate
 * is known to a quarter of a step after two halvings rather than to a whole
 * one. Each `step(rate)` runs one measured step and says whether it was
 * sustained.
 */
export async function searchSustainableRate(
  rates: number[],
  options: { refine: number; keepGoing?: boolean; onMissed?: (rate: number) => void; onRefine?: (lo: number, hi: number) => void },
  step: (rate: number) => Promise<boolean>,
): Promise<{ sustained: number | undefined; missed: number | undefined; tried: number[] }> {
  const tried: number[] = [];
  const run = async (rate: number) => {
    tried.push(rate);
    return step(rate);
  };
  let lastSustained: number | undefined;
  let firstMissed: number | undefined;
  for (const rate of rates) {
    if (await run(rate)) {
      lastSustained = rate;
    } else {
      firstMissed ??= rate;
      if (!options.keepGoing) {
        options.onMissed?.(rate);
        break;
      }
    }
  }
  if (firstMissed === undefined || options.keepGoing) return { sustained: lastSustained, missed: firstMissed, tried };
  let [lo, hi] = [lastSustained ?? 0, firstMissed];
  for (let k = 0; k < options.refine; k++) {
    const mid = Math.round(lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    options.onRefine?.(lo, hi);
    if (await run(mid)) lo = mid;
    else hi = mid;
  }
  return { sustained: lo > 0 ? lo : undefined, missed: hi, tried };
}

/**
 * The configurations of round `round` (from 1): as given in odd rounds,
 * reversed in even ones (A B, B A, A B...), so that a machine that grows
 * slower or faster over a run weighs on every configuration alike.
 */
export function roundOrder<T>(items: T[], round: number): T[] {
  return round % 2 === 1 ? [...items] : [...items].reverse();
}

/** The median (the mean of the middle two for an even count), or null for none. */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
