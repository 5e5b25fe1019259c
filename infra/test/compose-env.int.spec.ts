import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeEnvContent } from '../compose/compose-env';
import { checkCompose } from '../deploy-check/compose-checks';
import { buildComposeValidator } from '../deploy-check/compose-validator';

/**
 * npm run compose:env: the .env it writes sets exactly the variables
 * .env.example lists, with random values, and docker-compose.yml loads with
 * it (the Compose specification's own loader, every check passing).
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const keysOf = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.slice(0, l.indexOf('=')))
    .sort();

describe('compose:env', () => {
  let dir: string;
  let validator: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-env-'));
    validator = await buildComposeValidator();
  }, 600_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sets every variable .env.example lists, each random', () => {
    const first = composeEnvContent();
    expect(keysOf(first)).toEqual(keysOf(fs.readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8')));
    expect(first).not.toMatch(/replace-me/);
    expect(composeEnvContent()).not.toBe(first);
  });

  it('gives docker-compose.yml everything it interpolates: every compose check passes with it', async () => {
    const envFile = path.join(dir, '.env');
    fs.writeFileSync(envFile, composeEnvContent());
    const results = await checkCompose({ file: path.join(REPO_ROOT, 'docker-compose.yml'), envFile, validator });
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
