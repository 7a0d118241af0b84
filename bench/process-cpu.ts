/**
 * CPU time of whole processes, for cells whose work runs outside this one
 * (cluster sites, nats-servers). Linux /proc/PID/stat utime + stime: every
 * thread of the process, exited ones included, in clock ticks (10 ms at
 * the usual CLK_TCK of 100, so a few seconds' cell is counted to about 1 %).
 * This process itself is read with process.cpuUsage() (µs, also every thread).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of process `pid` in µs, or NaN where /proc cannot be read (not Linux, or the process is gone). */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may hold spaces) in parentheses: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1e6) / clockTicks();
  } catch {
    return NaN;
  }
}

/** The CPU that groups of processes spend between `cpuSpan` and its `stop()`: µs per group, this process as 'self'. */
export function cpuSpan<G extends string>(groups: Record<G, readonly number[]>): { stop(): Record<G | 'self', number> } {
  const read = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [g, pids] of Object.entries(groups) as [G, readonly number[]][]) out[g] = pids.reduce((s, p) => s + processCpuUs(p), 0);
    const self = process.cpuUsage();
    out['self'] = self.user + self.system;
    return out;
  };
  const before = read();
  return {
    stop() {
      const after = read();
      const out: Record<string, number> = {};
      for (const g of Object.keys(after)) out[g] = after[g]! - before[g]!;
      return out as Record<G | 'self', number>;
    },
  };
}

/** ns per op from µs, rounded; undefined when nothing ran or a process could not be read. */
export function nsPerOp(cpuUs: number, ops: number): number | undefined {
  return ops > 0 && Number.isFinite(cpuUs) ? Math.round((cpuUs * 1000) / ops) : undefined;
}

/** This thread's on-CPU time in ms (Linux /proc/thread-self/schedstat), or NaN elsewhere. */
export function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}
