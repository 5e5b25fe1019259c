import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../src/http/lifecycle';

const repoRoot = path.join(import.meta.dirname, '..', '..');
const fixture = path.join(import.meta.dirname, 'fixtures', 'lifecycle-process.ts');

describe('Lifecycle', () => {
  it('runs hooks once, in reverse order of registration, past a failing or hanging hook', async () => {
    const ran: string[] = [];
    const lifecycle = new Lifecycle({ hookTimeoutMs: 100 });
    lifecycle.onShutdown('pools', () => void ran.push('pools'));
    lifecycle.onShutdown('http', async () => void ran.push('http'));
    lifecycle.onShutdown('hangs', () => new Promise(() => ran.push('hangs')));
    lifecycle.onShutdown('consumers', () => {
      ran.push('consumers');
      throw new Error('already stopped');
    });

    const first = lifecycle.shutdown('test');
    expect(lifecycle.shutdown('again')).toBe(first);
    await first;
    expect(ran).toEqual(['consumers', 'hangs', 'http', 'pools']);
    expect(() => lifecycle.onShutdown('late', () => undefined)).toThrow(/already shutting down/);
  });

  it('turns not ready as soon as shutdown begins', async () => {
    const lifecycle = new Lifecycle();
    const check = lifecycle.readiness();
    await expect(check.check()).resolves.toBeUndefined();
    void lifecycle.shutdown();
    await expect(check.check()).rejects.toThrow('shutting down');
  });

  it('shuts a process down in order on SIGTERM and exits with 143', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line; output: ${stdout}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /ready (\S+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stdout.trim().split('\n').slice(1)).toEqual(['stopped consumers', 'closed http', 'closed pools']);
  });
});
