/**
 * Runs `shutdown` once on SIGINT/SIGTERM, then exits with 130/143 as a shell
 * would. A repeat within two seconds is ignored (a Ctrl-C reaches both a
 * launcher such as tsx and its child, and the launcher relays it again); a
 * later one forces an immediate exit.
 */
export function onShutdownSignal(shutdown: (signal: NodeJS.Signals) => Promise<void>): () => void {
  let startedAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (startedAt !== undefined) {
      if (Date.now() - startedAt > 2_000) process.exit(1);
      return;
    }
    startedAt = Date.now();
    shutdown(signal)
      .catch((err: unknown) => console.error('shutdown failed', err))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
