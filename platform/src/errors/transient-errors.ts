/**
 * Failures of the infrastructure that go away by themselves, told apart
 * from bugs and bad input: one definition for the bus's retries (which do
 * not count them against a message) and the HTTP kit's 503.
 */

/** Socket errors of a connection that broke or could not open. */
const UNREACHABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * The database cannot serve just now: a refused, reset or broken connection
 * (also its Unix socket gone while PostgreSQL restarts), PostgreSQL starting
 * up, shutting down or out of connections or resources (SQLSTATE classes
 * 08, 53, 57P), knex's pool giving up on a connection, pg's connection
 * ended mid-query.
 */
export function databaseUnreachable(err: unknown): boolean {
  const e = err as { code?: unknown; syscall?: unknown; name?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && (UNREACHABLE_SOCKET_CODES.has(code) || (code === 'ENOENT' && e?.syscall === 'connect') || /^(08|53|57P)/.test(code))) return true;
  if (e?.name === 'KnexTimeoutError') return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|Connection ended unexpectedly|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(
    message,
  );
}

/** An infrastructure failure worth retrying: the database unreachable, a serialisation failure or a deadlock. */
export function isTransientError(err: unknown): boolean {
  if (databaseUnreachable(err)) return true;
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return code === '40001' || code === '40P01';
}
