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
 * each secret, the bus's conditional ones (`createBusFromEnv`): with
 * `BUS=kafka`, `KAFKA_BROKERS`; otherwise (`BUS=postgres`, the default),
 * `BUS_DATABASE_URL`; and the event store's (`createEventStoreFromEnv`):
 * with `EVENT_STORE=eventstoredb`, `EVENTSTORE_URL`.
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
  if ('EVENT_STORE' in shape && environment.EVENT_STORE === 'eventstoredb') required.push('EVENTSTORE_URL');
  return required;
}

/** A service's event-store variables as a deployment sets them (literal values; undefined when unset or not literal). */
export interface EventStoreSettings {
  /** The compose service or the manifest object, as a problem names it. */
  name: string;
  environment: Record<string, string | undefined>;
}

/**
 * Services on one EventStoreDB server are kept apart by their stream prefixes
 * alone (the server cannot make a prefix private: docs/eventstoredb.md §4), so
 * among the services with `EVENT_STORE=eventstoredb` and the same server (their
 * `EVENTSTORE_URL` without its query), no prefix may be empty, equal to
 * another's or the start of another's: that service would read the other's
 * streams as its own.
 */
export function streamPrefixProblems(services: readonly EventStoreSettings[]): string[] {
  const server = (url: string | undefined) => url?.split('?')[0];
  const onServer = services.filter((s) => s.environment.EVENT_STORE === 'eventstoredb' && server(s.environment.EVENTSTORE_URL) !== undefined);
  const problems: string[] = [];
  for (const service of onServer) {
    const prefix = service.environment.EVENTSTORE_STREAM_PREFIX ?? '';
    const neighbours = onServer.filter((other) => other !== service && server(other.environment.EVENTSTORE_URL) === server(service.environment.EVENTSTORE_URL));
    if (neighbours.length === 0) continue;
    if (prefix === '') {
      problems.push(`${service.name}: no EVENTSTORE_STREAM_PREFIX, on the EventStoreDB server ${server(service.environment.EVENTSTORE_URL)} it shares with ${neighbours.map((n) => n.name).join(', ')}`);
      continue;
    }
    for (const other of neighbours) {
      const otherPrefix = other.environment.EVENTSTORE_STREAM_PREFIX ?? '';
      if (otherPrefix === '' || !otherPrefix.startsWith(prefix)) continue;
      const relation = otherPrefix === prefix ? `is also ${other.name}'s` : `begins ${other.name}'s (${otherPrefix})`;
      problems.push(`${service.name}: EVENTSTORE_STREAM_PREFIX ${prefix} ${relation} on the same EventStoreDB server: it would read ${other.name}'s streams as its own`);
    }
  }
  return problems;
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
