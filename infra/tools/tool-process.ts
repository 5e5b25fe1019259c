import { execFile } from 'node:child_process';

export interface ToolOutput {
  /** The exit code; a tool that did not start rejects instead. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a checker's program to its end: a non-zero exit is a result (the
 * problems it found), not an error; a program that cannot start is one.
 */
export function runTool(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ToolOutput> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 300_000, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(new Error(`${command} did not run: ${err.message}`, { cause: err }));
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** A tool's message as problem lines: its non-blank lines, trimmed. */
export function outputLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
