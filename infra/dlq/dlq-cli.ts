/**
 * npm run dlq -- list  [--service S] [--status pending|replayed|skipped|all] [--json]
 * npm run dlq -- show   ID [--full]
 * npm run dlq -- replay ID --reason "why" [--by NAME]
 * npm run dlq -- skip   ID --reason "why" [--by NAME]
 *   (each with [--stack-file FILE | --gateway URL], see infra/deploy/admin-access.ts)
 *
 * The dead-letter console of the five services, through each one's admin API
 * (`/v1/admin/dead-letters`, platform/src/dead-letters): list what their
 * consumers dead-lettered, show one (headers, value, reason, what was done
 * with it), replay one after a fix — its consumer handles it through the
 * normal inbox, so it applies at most once — or skip it. Every replay and
 * skip is recorded by the service as an event with who (`--by`, default the
 * OS user; the admin token's subject) and why (`--reason`, required).
 *
 * Exits 0 when done, 1 when the service refused (the letter is settled, the
 * replay was rejected again, no such letter), 2 when a service could not be
 * reached or the arguments are wrong.
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SERVICE_KEYS, adminAccess, adminToken, type ServiceKey, type ServiceTargets } from '../deploy/admin-access';

export interface DeadLetterListing {
  service: ServiceKey;
  id: string;
  group: string;
  status: string;
  topic: string | null;
  type: string | null;
  key: string;
  reason: string;
  bytes: number;
  failedAt: string;
}

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

class CliError extends Error {
  constructor(
    message: string,
    readonly code: 1 | 2,
  ) {
    super(message);
  }
}

async function call(url: string, token: string, method = 'GET', body?: unknown): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${url}: ${(err as Error).message}`, 2);
  }
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** Every dead letter of the services asked (all pages). */
export async function listDeadLetters(targets: ServiceTargets, token: string, options: { services?: ServiceKey[]; status?: string } = {}): Promise<DeadLetterListing[]> {
  const found: DeadLetterListing[] = [];
  for (const service of options.services ?? SERVICE_KEYS) {
    let cursor: string | null = null;
    do {
      const query: string = `status=${encodeURIComponent(options.status ?? 'pending')}&limit=100${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await call(`${targets[service]}/v1/admin/dead-letters?${query}`, token);
      if (res.status === 404 && cursor === null) break; // a service without consumers has no console
      if (res.status !== 200) throw new CliError(`${service}: ${res.status} ${JSON.stringify(res.body)}`, res.status < 500 ? 1 : 2);
      const page = res.body as { items: Omit<DeadLetterListing, 'service'>[]; nextCursor: string | null };
      for (const item of page.items) {
        const { id, group, status, topic, type, key, reason, bytes, failedAt } = item;
        found.push({ service, id, group, status, topic, type, key, reason, bytes, failedAt });
      }
      cursor = page.nextCursor;
    } while (cursor);
  }
  return found;
}

/** The service holding letter `id`, and the letter. */
async function findLetter(targets: ServiceTargets, token: string, id: string): Promise<{ service: ServiceKey; letter: Record<string, unknown> }> {
  for (const service of SERVICE_KEYS) {
    const res = await call(`${targets[service]}/v1/admin/dead-letters/${encodeURIComponent(id)}`, token);
    if (res.status === 200) return { service, letter: res.body as Record<string, unknown> };
    if (res.status === 400) throw new CliError(`${id}: ${(res.body as { detail?: string })?.detail ?? 'not a dead letter id'}`, 2);
  }
  throw new CliError(`no service has dead letter ${id}`, 1);
}

export async function runDlq(argv: string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'stack-file': { type: 'string' },
      gateway: { type: 'string' },
      service: { type: 'string', multiple: true },
      status: { type: 'string', default: 'pending' },
      reason: { type: 'string' },
      by: { type: 'string' },
      json: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
    },
  });
  const [command, id] = positionals;
  try {
    if (!command || !['list', 'show', 'replay', 'skip'].includes(command)) throw new CliError('usage: npm run dlq -- list|show ID|replay ID --reason R|skip ID --reason R', 2);
    if (command !== 'list' && !id) throw new CliError(`${command} needs the dead letter's id (see npm run dlq -- list)`, 2);
    const services = values.service as ServiceKey[] | undefined;
    for (const s of services ?? []) if (!SERVICE_KEYS.includes(s)) throw new CliError(`--service must be one of ${SERVICE_KEYS.join(', ')}, not ${s}`, 2);
    const by = values.by ?? env.USER ?? os.userInfo().username;
    const { targets, auth } = await adminAccess({ stackFile: values['stack-file'], gateway: values.gateway }, env);
    const token = await adminToken(auth, by);

    if (command === 'list') {
      const letters = await listDeadLetters(targets, token, { ...(services ? { services } : {}), status: values.status });
      if (values.json) io.out(JSON.stringify({ deadLetters: letters, count: letters.length }));
      else {
        for (const l of letters) io.out(`${l.id}  ${l.service}  ${l.status}  ${l.topic ?? '?'}  ${l.type ?? '(no type)'}  ${l.bytes} B  ${l.reason.slice(0, 120)}`);
        io.out(`${letters.length} dead letter(s) ${values.status === 'all' ? '' : values.status}`.trimEnd());
      }
      return 0;
    }
    const { service, letter } = await findLetter(targets, token, id!);
    if (command === 'show') {
      const value = String(letter.value ?? '');
      const shown = values.full || value.length <= 2_000 ? letter : { ...letter, value: `${value.slice(0, 2_000)}… (${letter.bytes} bytes; --full shows 64 KiB)` };
      io.out(JSON.stringify({ service, ...shown }, null, values.json ? undefined : 2));
      return 0;
    }
    if (!values.reason || values.reason.trim().length < 3) throw new CliError(`${command} needs --reason "why" (recorded with who did it)`, 2);
    const res = await call(`${targets[service]}/v1/admin/dead-letters/${encodeURIComponent(id!)}/${command}`, token, 'POST', { reason: values.reason });
    if (res.status !== 200) {
      const problem = res.body as { detail?: string } | undefined;
      io.err(`${command} ${id}: ${res.status} ${problem?.detail ?? JSON.stringify(res.body)}`);
      return res.status < 500 ? 1 : 2;
    }
    const done = res.body as { status: string; actions: { type: string; outcome?: string }[] };
    const last = done.actions[done.actions.length - 1];
    io.out(JSON.stringify({ service, id, status: done.status, action: last?.type, ...(last?.outcome ? { outcome: last.outcome } : {}), by }));
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`dlq: ${err.message}`);
      return err.code;
    }
    throw err;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runDlq(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`dlq: ${(err as Error).message}`);
      process.exit(2);
    },
  );
}
