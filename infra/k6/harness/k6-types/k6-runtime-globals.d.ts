/**
 * Globals k6's runtime has that @types/k6 does not declare (for
 * infra/k6/tsconfig.json, which has no DOM or Node types): the console and
 * the timers (k6/timers, also global since k6 v0.50).
 */
export {};

declare global {
  interface K6Console {
    log(...data: unknown[]): void;
    info(...data: unknown[]): void;
    warn(...data: unknown[]): void;
    error(...data: unknown[]): void;
    debug(...data: unknown[]): void;
  }
  var console: K6Console;

  function setTimeout(callback: (...args: unknown[]) => void, delayMs?: number, ...args: unknown[]): number;
  function clearTimeout(id?: number): void;
  function setInterval(callback: (...args: unknown[]) => void, delayMs?: number, ...args: unknown[]): number;
  function clearInterval(id?: number): void;
}
