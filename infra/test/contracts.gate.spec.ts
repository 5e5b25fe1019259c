import { allMessages } from '@shop/contracts';
import { describe, expect, it } from 'vitest';
import { PACTS_DIR, RESULTS_DIR, SNAPSHOTS_DIR, checkContracts, failureText, formatMatrix } from '../contracts/contracts-gate';

/**
 * The deploy gate on this very run (`npm test`): after the consumer pact
 * tests wrote the pacts (project `services`) and the producers verified
 * them (project `pact-providers`), what `npm run contracts:check
 * --from-results` checks: every published schema version against its
 * snapshot, every consumed (message, consumer) pair covered by a pact, and
 * every pact verified by its producer, as the file is now.
 */
describe('contracts gate (npm run contracts:check, on the pacts and verifications of this run)', () => {
  it('passes: no published schema changed incompatibly, no consumed message uncovered or unverified', () => {
    const report = checkContracts({ definitions: allMessages, snapshotsDir: SNAPSHOTS_DIR, pactsDir: PACTS_DIR, resultsDir: RESULTS_DIR });
    console.log(formatMatrix(report.matrix));
    expect(report.failures.map(failureText)).toEqual([]);
    expect(report.counts).toMatchObject({ uncovered: 0, unverified: 0 });
    expect(report.counts.verified).toBe(report.counts.consumedPairs);
    expect(report.counts.consumedPairs).toBeGreaterThanOrEqual(37);
  });
});
