/**
 * `npm run compose:env`: writes the `.env` that docker-compose.yml reads
 * (the variables of `.env.example`) with random secrets, readable by its
 * owner only. An existing `.env` is kept as it is: its passwords are the
 * ones the database volumes were initialised with.
 *
 *   npm run compose:env [-- --file PATH]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomSecret, writeSecretFile } from '../deploy/secret-file';
import { SERVICES } from '../local/stack';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The databases of docker-compose.yml, one password each (`<NAME>_DB_PASSWORD`). */
const DATABASES = SERVICES.map((s) => s.database);

/** The content of a fresh `.env`: every variable docker-compose.yml interpolates. */
export function composeEnvContent(): string {
  const lines = [
    '# Written by `npm run compose:env`; see .env.example. Keep it: the databases were created with these passwords.',
    // 32 random bytes as 64 hex characters: above the 32-byte minimum of AUTH_JWT_SECRET.
    `AUTH_JWT_SECRET=${randomSecret(32)}`,
    ...DATABASES.map((db) => `${db.toUpperCase()}_DB_PASSWORD=${randomSecret(24)}`),
    `GRAFANA_ADMIN_PASSWORD=${randomSecret(16)}`,
  ];
  return `${lines.join('\n')}\n`;
}

function main(): void {
  const { values } = parseArgs({ options: { file: { type: 'string', default: path.join(REPO_ROOT, '.env') } } });
  const file = path.resolve(values.file);
  const outcome = writeSecretFile(file, composeEnvContent());
  console.log(outcome === 'written' ? `wrote ${file} (mode 0600)` : `${file} exists: kept it unchanged (delete it to generate new secrets)`);
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) main();
