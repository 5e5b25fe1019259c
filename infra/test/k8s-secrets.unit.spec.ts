import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeK8sSecrets } from '../deploy/k8s-secrets';

/**
 * npm run k8s:secrets: writes exactly the env files the K3s overlay's
 * secretGenerator reads, each password the same in POSTGRES_PASSWORD and
 * DATABASE_URL, owner-only, and never replaces one that exists.
 */
const K3S_KUSTOMIZATION = fileURLToPath(new URL('../k8s/overlays/k3s/kustomization.yaml', import.meta.url));

const envOf = (file: string) =>
  Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

describe('k8s:secrets', () => {
  let overlay: string;
  beforeEach(() => {
    overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-secrets-'));
  });
  afterEach(() => fs.rmSync(overlay, { recursive: true, force: true }));

  it("writes every file the overlay's secretGenerator names, with the keys its example shows", () => {
    const written = writeK8sSecrets(overlay).map((w) => path.relative(overlay, w.file)).sort();
    const kustomization = parse(fs.readFileSync(K3S_KUSTOMIZATION, 'utf8')) as { secretGenerator: Array<{ envs: string[] }> };
    const generated = kustomization.secretGenerator.flatMap((g) => g.envs).sort();
    expect(written).toEqual(generated);
    for (const file of generated) {
      const example = envOf(path.join(path.dirname(K3S_KUSTOMIZATION), `${file}.example`));
      const real = envOf(path.join(overlay, file));
      expect(Object.keys(real).sort(), file).toEqual(Object.keys(example).sort());
      for (const value of Object.values(real)) expect(value, file).not.toBe('');
      expect(fs.statSync(path.join(overlay, file)).mode & 0o777, file).toBe(0o600);
    }
  });

  it('puts the same password in the database URL, for the user, host and database the manifests name', () => {
    writeK8sSecrets(overlay);
    const orders = envOf(path.join(overlay, 'secrets/orders-db-credentials.env'));
    expect(orders.POSTGRES_PASSWORD).toMatch(/^[0-9a-f]{48}$/);
    expect(orders.DATABASE_URL).toBe(`postgres://orders:${orders.POSTGRES_PASSWORD}@orders-db:5432/orders`);
    expect(envOf(path.join(overlay, 'secrets/jwt-signing-key.env')).AUTH_JWT_SECRET).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps a file that exists, so a database initialised with its password keeps working', () => {
    const first = writeK8sSecrets(overlay);
    const before = fs.readFileSync(path.join(overlay, 'secrets/catalog-db-credentials.env'), 'utf8');
    const second = writeK8sSecrets(overlay);
    expect(first.every((w) => w.result === 'written')).toBe(true);
    expect(second.every((w) => w.result === 'kept')).toBe(true);
    expect(fs.readFileSync(path.join(overlay, 'secrets/catalog-db-credentials.env'), 'utf8')).toBe(before);
  });
});
