import { readFileSync } from 'node:fs';

/** A resource limit of this process; `Infinity` stands for `unlimited`. */
export interface HostRlimit {
  soft: number;
  hard: number;
}

/** `nofile` → `RLIMIT_NOFILE`, as Docker's `--ulimit` names them. */
export const rlimitNames: Record<string, string> = {
  as: 'RLIMIT_AS',
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE',
  nice: 'RLIMIT_NICE',
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING',
  stack: 'RLIMIT_STACK',
};

/** /proc/self/limits row titles per RLIMIT_ type. */
const procTitles: Record<string, string> = {
  RLIMIT_CPU: 'Max cpu time',
  RLIMIT_FSIZE: 'Max file size',
  RLIMIT_DATA: 'Max data size',
  RLIMIT_STACK: 'Max stack size',
  RLIMIT_CORE: 'Max core file size',
  RLIMIT_RSS: 'Max resident set',
  RLIMIT_NPROC: 'Max processes',
  RLIMIT_NOFILE: 'Max open files',
  RLIMIT_MEMLOCK: 'Max locked memory',
  RLIMIT_AS: 'Max address space',
  RLIMIT_LOCKS: 'Max file locks',
  RLIMIT_SIGPENDING: 'Max pending signals',
  RLIMIT_MSGQUEUE: 'Max msgqueue size',
  RLIMIT_NICE: 'Max nice priority',
  RLIMIT_RTPRIO: 'Max realtime priority',
  RLIMIT_RTTIME: 'Max realtime timeout',
};

/**
 * The limits this process runs with, read from /proc/self/limits. The runtime cannot give a container
 * more than the hard limits when the host's root lacks CAP_SYS_RESOURCE (as on these machines).
 */
export function hostRlimits(limitsText = readFileSync('/proc/self/limits', 'utf8')): Record<string, HostRlimit> {
  const out: Record<string, HostRlimit> = {};
  const lines = limitsText.split('\n');
  for (const [type, title] of Object.entries(procTitles)) {
    const line = lines.find((l) => l.startsWith(title + ' '));
    if (!line) continue;
    const [soft, hard] = line.slice(title.length).trim().split(/\s+/);
    const num = (v?: string) => (v === 'unlimited' || v === undefined ? Infinity : Number(v));
    out[type] = { soft: num(soft), hard: num(hard) };
  }
  return out;
}
