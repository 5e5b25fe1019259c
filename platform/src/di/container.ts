import { Container } from 'inversify';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../auth/jwt';
import type { Bus } from '../bus/bus';
import type { EventStore } from '../event-store/event-store';
import type { StreamStateCache } from '../event-store/unit-of-work';
import type { Inbox } from '../inbox/inbox';
import type { IdempotencyStore } from '../http/idempotency';

/**
 * Composition-root helpers over inversify, with explicit tokens and no
 * decorators: services may be bundled by esbuild-based tools, which emit no
 * decorator metadata, so every dependency is named at the binding site.
 *
 * Only a service's `composition.ts` imports this; domain code never sees the
 * container.
 */

declare const valueType: unique symbol;

/** A symbol that also carries, at the type level only, the type bound to it. */
export type Token<T> = symbol & { readonly [valueType]?: T };

export type TokenValue<K> = K extends Token<infer T> ? T : never;

export function token<T>(description: string): Token<T> {
  return Symbol(description) as Token<T>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * The tokens of what the platform binds in every service (`bindPlatformAdapters`).
 * A service's configuration reaches its factories as their second argument
 * (see `ServiceDefinition`), not through a token.
 */
export const TOKENS = {
  Logger: token<Logger>('shop.Logger'),
  Database: token<Knex>('shop.Database'),
  EventStore: token<EventStore>('shop.EventStore'),
  /** Which messages each consumer has handled (with the Postgres store: its own database). */
  Inbox: token<Inbox>('shop.Inbox'),
  /** The folded state of recently used streams, shared by every unit of work of the process. */
  StreamCache: token<StreamStateCache>('shop.StreamCache'),
  Bus: token<Bus>('shop.Bus'),
  Clock: token<Clock>('shop.Clock'),
  TokenVerifier: token<TokenVerifier>('shop.TokenVerifier'),
  IdempotencyStore: token<IdempotencyStore>('shop.IdempotencyStore'),
} as const;

/** Singleton scope by default: one pool, one logger, one store per process. */
export function createContainer(): Container {
  return new Container({ defaultScope: 'Singleton' });
}

export function bindValue<T>(container: Container, key: Token<T>, value: T): void {
  container.bind<T>(key).toConstantValue(value);
}

/**
 * Binds `key` to what `factory` builds from the resolved `deps`, typed end
 * to end: `bindFactory(c, ORDERS, [TOKENS.EventStore, TOKENS.Clock], (store, clock) => new Orders(store, clock))`.
 * A factory returning a promise makes the binding async: resolve it with `resolveAsync`.
 */
export function bindFactory<T, const D extends readonly Token<unknown>[]>(
  container: Container,
  key: Token<T>,
  deps: D,
  factory: (...args: { [I in keyof D]: TokenValue<D[I]> }) => T | Promise<T>,
): void {
  const build = factory as (...args: unknown[]) => T | Promise<T>;
  container.bind<T>(key).toResolvedValue(build, deps as unknown as symbol[]);
}

export function resolve<T>(container: Container, key: Token<T>): T {
  return container.get<T>(key);
}

export function resolveAsync<T>(container: Container, key: Token<T>): Promise<T> {
  return container.getAsync<T>(key);
}

/** Every value bound to a multi-binding token; empty when there is none. */
export function resolveAll<T>(container: Container, key: Token<T>): T[] {
  return container.isBound(key) ? container.getAll<T>(key) : [];
}
