/**
 * Runs `shutdown` once on SIGINT/SIGTERM (and on a second signal, exits at once),
 * then exits with 130/143 as a shell would.
 */
export function onShutdownSignal(shutdown: (signal: NodeJS.Signals) => Promise<void>): () => void {
  let running = false;
  const handler = (signal: NodeJS.Signals) => {
    if (running) process.exit(1);
    running = true;
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
