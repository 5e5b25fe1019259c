/**
 * Prints a signed token for local use and tests:
 *
 *   npm run -s token -- --role admin --sub alice [--role customer] [--ttl 1h]
 *
 * The key, issuer and audience come from the environment, exactly as the
 * services read them (AUTH_JWT_SECRET, AUTH_ISSUER, AUTH_AUDIENCE); in dev
 * mode (SHOP_ENV=development) the dev key is used when none is set. Only the
 * token goes to stdout, so `TOKEN=$(npm run -s token -- ...)` works.
 */
import { parseArgs } from 'node:util';
import { ConfigError, authConfigShape, loadConfig } from '../config/config';
import { ROLES, authSettingsFromConfig, signToken, type Role } from './jwt';

const USAGE = `usage: issue-token --sub <subject> --role <${ROLES.join('|')}> [--role ...] [--ttl 1h]`;

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        sub: { type: 'string' },
        role: { type: 'string', multiple: true },
        ttl: { type: 'string', default: '1h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`, 2);
  }
}

const values = parseCommandLine();
const roles = values.role ?? [];
const unknown = roles.filter((role) => !(ROLES as readonly string[]).includes(role));
if (!values.sub) fail(`--sub is required\n${USAGE}`, 2);
if (roles.length === 0) fail(`at least one --role is required\n${USAGE}`, 2);
if (unknown.length > 0) fail(`unknown role ${unknown.join(', ')}\n${USAGE}`, 2);

try {
  const config = loadConfig(authConfigShape);
  const token = await signToken({ sub: values.sub, roles: roles as Role[], ttl: values.ttl }, authSettingsFromConfig(config));
  process.stdout.write(`${token}\n`);
} catch (err) {
  if (err instanceof ConfigError) fail(`${err.message}\n(set AUTH_JWT_SECRET, or SHOP_ENV=development to use the dev key)`, 1);
  fail((err as Error).message, 1);
}
