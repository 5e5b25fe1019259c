/**
 * The gate of the tests that need an EventStoreDB (KurrentDB) server. No
 * registry reachable from the project's own machines ships the server, and
 * they have no Docker daemon, so those tests run in the GitHub workflow's
 * `eventstore` job (a `kurrentplatform/kurrentdb` service container), which
 * sets `EVENTSTORE_URL` and `CI_EVENTSTORE=required`. See docs/eventstoredb.md.
 */

/** The server the tests use, or undefined. */
export function eventStoreTestUrl(): string | undefined {
  return process.env.EVENTSTORE_URL || undefined;
}

/**
 * For `describe.skipIf(skipEventStoreTests('…'))`: true, with the reason
 * printed, when no server is configured; under `CI_EVENTSTORE=required` it
 * throws instead, so the workflow never passes without running them.
 */
export function skipEventStoreTests(suite = 'EventStoreDB tests'): boolean {
  if (eventStoreTestUrl()) return false;
  const reason = 'EVENTSTORE_URL is not set (EventStoreDB runs in the GitHub workflow only; docs/eventstoredb.md)';
  if (process.env.CI_EVENTSTORE === 'required') throw new Error(`${suite} must run here (CI_EVENTSTORE=required), but ${reason}`);
  console.warn(`${suite} SKIPPED: ${reason}.`);
  return true;
}
