import { PostgresBus, migrateBus } from '../src/bus/postgres/postgres-bus';
import { createKnex } from '../src/persistence/migrations';
import { createTestDatabase } from '../src/testing';
import { describeBusConformance } from '../src/testing/bus-conformance';
import { databaseUrl } from '../src/config/config';

const HEARTBEAT_MS = 200;
const SESSION_TIMEOUT_MS = 1_500;

describeBusConformance('postgres', async () => {
  const busDb = await createTestDatabase('bus');
  const effectsDb = await createTestDatabase('bus_effects');
  const knex = createKnex(busDb);
  await migrateBus(knex);
  await knex.destroy();
  const options = { connection: busDb, heartbeatMs: HEARTBEAT_MS, sessionTimeoutMs: SESSION_TIMEOUT_MS };
  const bus = new PostgresBus(options);
  const clients: PostgresBus[] = [];
  const url = databaseUrl(busDb);
  return {
    bus,
    newClient() {
      const client = new PostgresBus(options);
      clients.push(client);
      return Promise.resolve(client);
    },
    childEnv: () => ({
      BUS: 'postgres',
      BUS_DATABASE_URL: url,
      BUS_HEARTBEAT_MS: String(HEARTBEAT_MS),
      BUS_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    }),
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    effectsDb,
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await bus.close();
      await busDb.drop();
      await effectsDb.drop();
    },
  };
});
