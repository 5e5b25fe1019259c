import { sleepSync } from '../runtime/sync-http';
import { K6UsageError, state, stringTags } from '../runtime/state';
import { strictModule } from './strict';

/** The `k6` module: check, group, sleep, fail (and randomSeed). */

/** Thrown by `fail()`: aborts the iteration, like k6. */
export class K6Fail extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'K6Fail';
  }
}

export function check<T>(value: T, sets: Record<string, unknown>, tags?: Record<string, unknown>): boolean {
  if (state.phase === 'init') throw new K6UsageError('check() is not supported in the init context');
  if (sets === null || typeof sets !== 'object' || Array.isArray(sets)) {
    throw new K6UsageError(`check() needs an object of named checks as its second argument, not ${sets === null ? 'null' : typeof sets}`);
  }
  const extra = tags === undefined || tags === null ? {} : stringTags(tags);
  let all = true;
  for (const [name, checker] of Object.entries(sets)) {
    // k6 calls a function with the value (an exception it throws propagates); any other value counts by truthiness.
    const passed = Boolean(typeof checker === 'function' ? (checker as (v: T) => unknown)(value) : checker);
    state.recordCheck(name, passed, extra);
    all &&= passed;
  }
  return all;
}

export function group<T>(name: string, fn: () => T): T {
  if (state.phase === 'init') throw new K6UsageError('group() is not supported in the init context');
  if (typeof fn !== 'function') throw new K6UsageError('group() requires a callback as a second argument');
  if (fn.constructor.name === 'AsyncFunction') throw new K6UsageError(`group() does not support async functions as arguments (group '${name}')`);
  return state.inGroup(name, fn);
}

export function sleep(seconds: number): void {
  if (typeof seconds !== 'number' || Number.isNaN(seconds)) throw new K6UsageError(`sleep() needs a number of seconds, not ${String(seconds)}`);
  sleepSync(seconds);
}

export function fail(message?: string): never {
  throw new K6Fail(message ?? '');
}

export function randomSeed(seed: number): void {
  // The one iteration is not randomised; accepted for compatibility.
  void seed;
}

export default strictModule('k6', { check, group, sleep, fail, randomSeed });
