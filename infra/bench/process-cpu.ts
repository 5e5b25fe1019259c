import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second of /proc's CPU times (100 on Linux almost everywhere). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcStat {
  pid: number;
  ppid: number;
  /** Process group. */
  pgrp: number;
  /** utime + stime, in milliseconds. */
  cpuMs: number;
  /** cutime + cstime: CPU of children this process has reaped, in milliseconds. */
  reapedChildrenMs: number;
}

/** `/proc/<pid>/stat`, or undefined when the process is gone. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const tick = (i: number) => (Number(fields[i]) * 1000) / CLOCK_TICKS;
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  return { pid, ppid: Number(fields[1]), pgrp: Number(fields[2]), cpuMs: tick(11) + tick(12), reapedChildrenMs: tick(13) + tick(14) };
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export function environ(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/**
 * Groups of processes whose CPU is summed: a function naming the group of a
 * pid (or undefined for a process that is not measured), re-evaluated for
 * pids that appear while measuring.
 */
export type Classifier = (pid: number, stat: ProcStat) => string | undefined;

export interface CpuWindow {
  /** CPU milliseconds per group over the window. */
  byGroup: Record<string, number>;
  totalMs: number;
  wallMs: number;
}

/**
 * Measures CPU time of groups of processes over a window, from /proc. Pids
 * are sampled every `intervalMs`, so a process that exits during the window
 * keeps the CPU it had at its last sample; one that starts during the window
 * counts from zero. `extra` adds CPU that no live pid shows (a server's
 * reaped children).
 */
export class CpuMeter {
  private readonly first = new Map<number, { group: string; cpuMs: number }>();
  private readonly last = new Map<number, number>();
  private extraStart: Record<string, number> = {};
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;

  constructor(
    private readonly classify: Classifier,
    private readonly extra: () => Record<string, number> = () => ({}),
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.first.clear();
    this.last.clear();
    this.startedAt = performance.now();
    this.extraStart = this.extra();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), this.intervalMs);
    this.timer.unref();
  }

  private sample(initial: boolean): void {
    for (const pid of allPids()) {
      const stat = procStat(pid);
      if (!stat) continue;
      const known = this.first.get(pid);
      if (!known) {
        const group = this.classify(pid, stat);
        if (group === undefined) continue;
        // A process seen at the start counts from its CPU then; a later one from zero.
        this.first.set(pid, { group, cpuMs: initial ? stat.cpuMs : 0 });
      }
      this.last.set(pid, stat.cpuMs);
    }
  }

  stop(): CpuWindow {
    this.sample(false);
    if (this.timer) clearInterval(this.timer);
    const byGroup: Record<string, number> = {};
    for (const [pid, { group, cpuMs }] of this.first) {
      byGroup[group] = (byGroup[group] ?? 0) + Math.max(0, (this.last.get(pid) ?? cpuMs) - cpuMs);
    }
    const extraEnd = this.extra();
    for (const [group, ms] of Object.entries(extraEnd)) {
      byGroup[group] = (byGroup[group] ?? 0) + Math.max(0, ms - (this.extraStart[group] ?? 0));
    }
    const totalMs = Object.values(byGroup).reduce((a, b) => a + b, 0);
    return { byGroup, totalMs, wallMs: performance.now() - this.startedAt };
  }
}

/**
 * Groups a PostgreSQL server's processes: backends by the database they
 * serve (`postgres:<db>`, from their process title), the postmaster and its
 * auxiliary processes (checkpointer, WAL writer...) as `postgres:server`.
 */
export function postgresGroup(postmasterPid: number, pid: number, stat: ProcStat): string | undefined {
  if (pid === postmasterPid) return 'postgres:server';
  if (stat.ppid !== postmasterPid) return undefined;
  const title = cmdline(pid).join(' ');
  // "postgres: <user> <database> <host>(<port>) <state>"
  const backend = /^postgres: \S+ (\S+) (?:\S+\(\d+\)|\[local\])/.exec(title);
  return backend ? `postgres:${backend[1]!}` : 'postgres:server';
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]!.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
