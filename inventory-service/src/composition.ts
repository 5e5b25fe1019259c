import { TOPICS } from '@shop/contracts';
import { TOKENS, defineService, token } from '@shop/platform';
import { inventoryMigrations } from '../migrations';
import { configShape } from './config';
import { CONSUMER_GROUP, inventoryCommandHandlers } from './integration/inbound/inventory-commands';
import { SOURCE, toMessages } from './integration/outbound/to-messages';
import { Reservations } from './reservations/reservations';
import { stockRoutes } from './stock/api';
import { stockLevelsProjection } from './stock/read-models/stock-levels/projection';
import { StockLedger } from './stock/stock-ledger';

export const STOCK_LEDGER = token<StockLedger>('inventory-service.StockLedger');
export const RESERVATIONS = token<Reservations>('inventory-service.Reservations');

/** The inventory service: stock per SKU, reservations per order. */
export const inventoryService = defineService({
  description: 'Stock per SKU and reservations per order.',
  config: configShape,
  migrations: { set: 'inventory', migrations: inventoryMigrations },
  provides: (provide) => [
    provide(STOCK_LEDGER, (get, config) => new StockLedger(get(TOKENS.EventStore), { cache: get(TOKENS.StreamCache), maxAttempts: config.STOCK_WRITE_ATTEMPTS })),
    provide(RESERVATIONS, (get) => new Reservations(get(TOKENS.EventStore), get(STOCK_LEDGER), get(TOKENS.Clock), get(TOKENS.StreamCache))),
  ],
  consumes: { 'inventory.commands': { group: CONSUMER_GROUP, handlers: (get) => inventoryCommandHandlers(get(RESERVATIONS)) } },
  publishes: { source: SOURCE, toMessages, topics: [TOPICS.inventoryEvents] },
  projections: [stockLevelsProjection],
  routes: (get) => stockRoutes({ ledger: get(STOCK_LEDGER), db: get(TOKENS.Database), clock: get(TOKENS.Clock) }),
});
