// CPU time spent by the processes of an HTTP benchmark on one Linux machine, from /proc: the server (and its
// main thread alone), every PostgreSQL process, and this process (the load generator). It tells where a
// request's CPU goes when the machine is the limit.
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuTimes {
  /** Milliseconds of CPU, user and system. */
  readonly server: number;
  readonly serverMainThread: number;
  readonly postgres: number;
  readonly loadGenerator: number;
}

// utime and stime (and cutime and cstime) in /proc/<pid>/stat are in clock ticks of USER_HZ, which is 100 on
// Linux.
const MS_PER_TICK = 10;

/** `ms`: the process's own CPU; `reapedChildrenMs`: that of its children that have ended and been waited for. */
function statCpuMs(file: string): { comm: string; ms: number; reapedChildrenMs: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process ended meanwhile
  }
  // The command name is in parentheses and may hold spaces; the fields after it are space-separated.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
    ms: (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK,
    reapedChildrenMs: (Number(fields[13]) + Number(fields[14])) * MS_PER_TICK,
  };
}

/** A snapshot; undefined where /proc is not there to read (not Linux). */
export function cpuTimes(serverPid: number): CpuTimes | undefined {
  const server = statCpuMs(`/proc/${serverPid}/stat`);
  const serverMainThread = statCpuMs(`/proc/${serverPid}/task/${serverPid}/stat`);
  if (!server || !serverMainThread) return undefined;
  let postgres = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = statCpuMs(`/proc/${pid}/stat`);
    // A backend that ends between two snapshots (a pool closing a connection) takes its CPU out of the live
    // processes' sum; the postmaster's reaped-children time has it, so the difference stays whole.
    if (stat?.comm.startsWith('postgres')) postgres += stat.ms + stat.reapedChildrenMs;
  }
  const self = process.cpuUsage();
  return {
    server: server.ms,
    serverMainThread: serverMainThread.ms,
    postgres,
    loadGenerator: (self.user + self.system) / 1000,
  };
}

/** CPU milliseconds per request between two snapshots, one line for a results file. */
export function cpuPerRequest(before: CpuTimes, after: CpuTimes, requests: number): string {
  const per = (key: keyof CpuTimes) => ((after[key] - before[key]) / requests).toFixed(2);
  return (
    `\`arbiter serve\` ${per('server')} ms (main thread ${per('serverMainThread')} ms, the rest its policy ` +
    `workers and runtime threads), PostgreSQL ${per('postgres')} ms, load generator ${per('loadGenerator')} ms`
  );
}
