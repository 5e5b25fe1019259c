/** The databases of the local stack: one per service, plus the bus's own. */
export const SERVICE_DATABASES = ['catalog', 'inventory', 'orders', 'coordinator', 'analytics'] as const;
export const BUS_DATABASE = 'bus';

export interface StackFile {
  startedAt: string;
  postgres: { host: string; port: number; pid?: number };
  databases: Record<string, { url: string; database: string; user: string }>;
}
