/**
 * npm run k8s:secrets [-- --overlay DIR]
 *
 * Writes the Secrets' env files the K3s overlay's secretGenerator reads
 * (infra/k8s/overlays/k3s/secrets/*.env, git-ignored): the token signing key
 * and, per database, one random password used twice — by PostgreSQL when it
 * initialises its volume and inside the service's DATABASE_URL. A file that
 * exists is kept (its database was initialised with that password), so the
 * command is safe to run again. Files are 0600. Prints one line per file.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SERVICES } from '../local/stack';
import { randomSecret, writeSecretFile } from './secret-file';

/** The database of each service, as the manifests name them (`<name>-db`, user and database `<name>`), the names the local stack gives them. */
const DATABASES = SERVICES.map((s) => s.database);

const DEFAULT_OVERLAY = fileURLToPath(new URL('../k8s/overlays/k3s', import.meta.url));

/** The content of every secrets file the overlay needs, keyed by file name. */
export function k8sSecretFiles(): Record<string, string> {
  const header = (file: string) => `# Written by npm run k8s:secrets (git-ignored); see ${file}.example.\n`;
  const files: Record<string, string> = {
    'jwt-signing-key.env': `${header('jwt-signing-key.env')}AUTH_JWT_SECRET=${randomSecret(32)}\n`,
  };
  for (const db of DATABASES) {
    const password = randomSecret(24);
    const file = `${db}-db-credentials.env`;
    files[file] = `${header(file)}POSTGRES_PASSWORD=${password}\nDATABASE_URL=postgres://${db}:${password}@${db}-db:5432/${db}\n`;
  }
  return files;
}

export function writeK8sSecrets(overlay: string): Array<{ file: string; result: 'written' | 'kept' }> {
  return Object.entries(k8sSecretFiles()).map(([name, content]) => {
    const file = path.join(overlay, 'secrets', name);
    return { file, result: writeSecretFile(file, content) };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { overlay: { type: 'string', default: DEFAULT_OVERLAY } } });
  for (const { file, result } of writeK8sSecrets(path.resolve(values.overlay!))) {
    console.log(`${result === 'written' ? 'wrote' : 'kept (exists)'}  ${path.relative(process.cwd(), file)}`);
  }
}
