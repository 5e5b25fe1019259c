import { ConfigError } from '../config/config';

/** Runs `fn`, which must throw a `ConfigError`, and returns it (anything else is rethrown). */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
