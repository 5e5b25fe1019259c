import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, serviceConfig, type Env } from '@shop/platform';
import { SERVICES } from '../local/stack';

/**
 * Which environment variables each service's typed config requires, read
 * from the config shapes themselves (never a hand-kept list), so the compose
 * file and the manifests are checked against what the services really load.
 * Shared by the compose checks and the manifest rules.
 */

/** The five service workspaces, as folder names at the repository's top level. */
export const SERVICE_FOLDERS = SERVICES.map((s) => s.folder);

/** A config shape (a schema per variable), as loadConfig takes it. */
type ConfigShape = Parameters<typeof loadConfig>[0];

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Variables the platform reads outside the config shapes (tracing, metrics,
 * dev-mode detection, the Node runtime): setting them is known, not a typo.
 * `OTEL_*` is matched as a prefix (the OpenTelemetry SDK reads many).
 */
export const PLATFORM_VARIABLES = ['NODE_ENV', 'NODE_OPTIONS', 'SHOP_METRICS', 'SERVICE_VERSION'] as const;
export const PLATFORM_VARIABLE_PREFIXES = ['OTEL_'] as const;

/**
 * A service's config shape: `<folder>/src/config.ts`'s `configShape`, or, for
 * a service without its own variables (catalog), the shape every service
 * gets from `serviceConfig(name)`.
 */
export async function configShapeOf(folder: string): Promise<ConfigShape> {
  const file = path.join(REPO_ROOT, folder, 'src', 'config.ts');
  if (!existsSync(file)) return serviceConfig(folder);
  const module = (await import(pathToFileURL(file).href)) as { configShape?: ConfigShape };
  if (!module.configShape) throw new Error(`${path.relative(REPO_ROOT, file)} exports no configShape`);
  return module.configShape;
}

/**
 * The variables service `folder` requires in a deployment (production mode:
 * `SHOP_ENV=production`, where secrets have no default), given what
 * `environment` sets: each variable without a default that is not optional,
 * each secret, and the bus's conditional ones (`createBusFromEnv`): with
 * `BUS=kafka`, `KAFKA_BROKERS`; otherwise (`BUS=postgres`, the default),
 * `BUS_DATABASE_URL`.
 */
export async function requiredVariables(folder: string, environment: Env = {}): Promise<string[]> {
  const shape = await configShapeOf(folder);
  const production: Env = { SHOP_ENV: 'production' };
  const required = Object.entries(shape)
    .filter(([variable, schema]) => {
      // loadConfig itself decides, so a secret (required outside dev mode) counts like any required field.
      try {
        loadConfig({ [variable]: schema }, production);
        return false;
      } catch (error) {
        if (error instanceof ConfigError) return true;
        throw error;
      }
    })
    .map(([variable]) => variable);
  if ('BUS' in shape) required.push(environment.BUS === 'kafka' ? 'KAFKA_BROKERS' : 'BUS_DATABASE_URL');
  return required;
}

/** Every variable service `folder`'s config reads (its shape's keys); see also PLATFORM_VARIABLES. */
export async function knownVariables(folder: string): Promise<string[]> {
  return Object.keys(await configShapeOf(folder));
}

/** Whether setting `variable` for service `folder` means something: its config or the platform reads it. */
export async function isKnownVariable(folder: string, variable: string): Promise<boolean> {
  if ((PLATFORM_VARIABLES as readonly string[]).includes(variable)) return true;
  if (PLATFORM_VARIABLE_PREFIXES.some((prefix) => variable.startsWith(prefix))) return true;
  return (await knownVariables(folder)).includes(variable);
}
