import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { goCommand } from './tool-cache';

const run = promisify(execFile);

/** There is no Go toolchain to build a program that is not in its cache yet. */
export class GoToolchainMissingError extends Error {
  override readonly name = 'GoToolchainMissingError';
}

export interface GoProgram {
  /** What the log line and the errors call it, e.g. "Jaeger (github.com/.../cmd/jaeger@v1.76.0)". */
  label: string;
  /** Where the binary is kept: a file in the program's cache directory. */
  binary: string;
  /**
   * How it is built: `go build -o <binary> <target>` inside a module that pins
   * it (`cwd`), or `go install <spec>` (a `pkg@version`) into the cache.
   */
  build: { cwd: string; target: string } | { install: string };
}

/**
 * A Go program the scripts need (Jaeger, the Temporal CLI, kustomize,
 * actionlint, the compose validator): from its cache, or built once into it
 * from the Go module proxy. The build goes to a partial path first and is
 * renamed into place, so an interrupted build never leaves a binary that
 * looks cached. Without Go, a `GoToolchainMissingError` names the program
 * and where it would have been built.
 */
export async function buildGoBinary(program: GoProgram, log: (line: string) => void = () => undefined): Promise<string> {
  if (existsSync(program.binary)) return program.binary;
  const dir = path.dirname(program.binary);
  const go = await run(goCommand(), ['version']).catch(() => undefined);
  if (!go) throw new GoToolchainMissingError(`${program.label} is not built in ${dir} and there is no Go toolchain to build it`);
  log(`building ${program.label} into ${dir} (once)...`);
  await fs.mkdir(dir, { recursive: true });
  const partial = `${program.binary}.partial-${process.pid}`;
  const options = { env: { ...process.env, CGO_ENABLED: '0' }, maxBuffer: 64 * 1024 * 1024 };
  try {
    if ('install' in program.build) {
      // go install names the binary after the package: build into a scratch GOBIN, then move it.
      await fs.mkdir(partial, { recursive: true });
      await run(goCommand(), ['install', program.build.install], { ...options, env: { ...options.env, GOBIN: partial } });
      const [built] = await fs.readdir(partial);
      if (!built) throw new Error(`go install ${program.build.install} left no binary`);
      await fs.rename(path.join(partial, built), program.binary);
    } else {
      await run(goCommand(), ['build', '-o', partial, program.build.target], { ...options, cwd: program.build.cwd });
      await fs.rename(partial, program.binary);
    }
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`building ${program.label} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-5).join(' / ')}`, { cause: err });
  } finally {
    await fs.rm(partial, { recursive: true, force: true });
  }
  return program.binary;
}
