import { DEV_AUTH_JWT_SECRET, PostgresBus, createKnex, migrateBus, signToken, type Role } from '@shop/platform';
import { createTestDatabase } from '@shop/platform/testing';
import { startService } from '../../src/main';
import { urlOf, type TestDb } from './fixtures';

const auth = { secret: DEV_AUTH_JWT_SECRET, issuer: 'urn:shop:auth', audience: 'urn:shop:api' };

export const tokenFor = (role: Role, sub = `${role}-1`): Promise<string> => signToken({ sub, roles: [role] }, auth);

/** The service started in-process as the launcher would, on fresh service and bus databases. */
export async function startTestService(label: string) {
  const [serviceDb, busDb]: [TestDb, TestDb] = await Promise.all([createTestDatabase(`${label}_svc`), createTestDatabase(`${label}_bus`)]);
  const busKnex = createKnex(busDb);
  await migrateBus(busKnex);
  await busKnex.destroy();
  const service = await startService({
    SHOP_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    DATABASE_URL: urlOf(serviceDb),
    BUS: 'postgres',
    BUS_DATABASE_URL: urlOf(busDb),
    BUS_HEARTBEAT_MS: '200',
    BUS_SESSION_TIMEOUT_MS: '2000',
  });
  // The test's own client of the bus: publishes commands, reads replies.
  const bus = new PostgresBus({ connection: busDb, heartbeatMs: 200, sessionTimeoutMs: 2_000 });
  return {
    service,
    bus,
    async stop() {
      await service.stop();
      await bus.close();
      await Promise.all([serviceDb.drop(), busDb.drop()]);
    },
  };
}
