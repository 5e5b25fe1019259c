import {
  OutboxRelay,
  ProjectionRunner,
  TOKENS,
  bindFactory,
  bindMessageConsumer,
  bindOutboxRelay,
  bindPlatformAdapters,
  bindProjectionRunner,
  bindValue,
  createContainer,
  token,
  type Consumer,
} from '@shop/platform';
import type { Container } from 'inversify';
import type { InventoryServiceConfig } from './config';
import { CONSUMER_GROUP, inventoryCommandHandlers } from './integration/inbound/inventory-commands';
import { SOURCE, toMessages } from './integration/outbound/to-messages';
import { Reservations } from './reservations/reservations';
import { stockLevelsProjection } from './stock/read-models/stock-levels/projection';
import { StockLedger } from './stock/stock-ledger';

export const CONFIG = token<InventoryServiceConfig>('inventory-service.Config');
export const STOCK_LEDGER = token<StockLedger>('inventory-service.StockLedger');
export const RESERVATIONS = token<Reservations>('inventory-service.Reservations');
export const STOCK_LEVELS_RUNNER = token<ProjectionRunner>('inventory-service.StockLevelsRunner');
export const OUTBOX_RELAY = token<OutboxRelay>('inventory-service.OutboxRelay');
export const COMMAND_CONSUMER = token<Consumer>('inventory-service.CommandConsumer');

/** The only place that knows the adapters. `env` is handed to the bus factory, which reads its own variables. */
export function compose(config: InventoryServiceConfig, env: NodeJS.ProcessEnv): Container {
  const c = createContainer();
  bindValue(c, CONFIG, config);
  bindPlatformAdapters(c, config, env);
  bindFactory(
    c,
    STOCK_LEDGER,
    [TOKENS.EventStore, TOKENS.StreamCache, CONFIG],
    (store, cache, cfg) => new StockLedger(store, { cache, maxAttempts: cfg.STOCK_WRITE_ATTEMPTS }),
  );
  bindFactory(
    c,
    RESERVATIONS,
    [TOKENS.EventStore, STOCK_LEDGER, TOKENS.Clock, TOKENS.StreamCache],
    (store, ledger, clock, cache) => new Reservations(store, ledger, clock, cache),
  );
  bindProjectionRunner(c, STOCK_LEVELS_RUNNER, stockLevelsProjection);
  bindOutboxRelay(c, OUTBOX_RELAY, config, { name: SOURCE, toMessages });
  bindMessageConsumer(c, COMMAND_CONSUMER, CONSUMER_GROUP, [RESERVATIONS], (reservations) => inventoryCommandHandlers(reservations));
  return c;
}
