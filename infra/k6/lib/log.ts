/**
 * k6's console, without declaring a global the k6 types do not have (and
 * that Node's types would clash with).
 */
type Console = { log(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void };

const consoleOf = (): Console | undefined => (globalThis as { console?: Console }).console;

export function info(...args: unknown[]): void {
  consoleOf()?.log(...args);
}

export function warn(...args: unknown[]): void {
  consoleOf()?.warn(...args);
}

export function error(...args: unknown[]): void {
  consoleOf()?.error(...args);
}
