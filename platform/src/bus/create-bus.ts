import { z } from 'zod';
import type { Bus } from './bus';
import { PostgresBus } from './postgres/postgres-bus';

const busEnv = z.object({
  BUS: z.enum(['postgres']).default('postgres'),
  BUS_DATABASE_URL: z.string().min(1, 'BUS_DATABASE_URL is required when BUS=postgres'),
  BUS_DEFAULT_PARTITIONS: z.coerce.number().int().min(1).default(4),
  BUS_HEARTBEAT_MS: z.coerce.number().int().min(50).default(1_000),
  BUS_SESSION_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
});

/** The bus adapter named by configuration (`BUS=postgres`; Kafka comes with its issue). */
export function createBusFromEnv(env: NodeJS.ProcessEnv = process.env): Bus {
  const parsed = busEnv.safeParse(env);
  if (!parsed.success) {
    throw new Error(`bus configuration: ${parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`);
  }
  const c = parsed.data;
  return new PostgresBus({
    connection: { connectionString: c.BUS_DATABASE_URL },
    defaultPartitions: c.BUS_DEFAULT_PARTITIONS,
    heartbeatMs: c.BUS_HEARTBEAT_MS,
    sessionTimeoutMs: c.BUS_SESSION_TIMEOUT_MS,
  });
}
