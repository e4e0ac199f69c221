import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { InternalError, NotFoundError } from '@berth/errors';
import { readBlkioStats, readNetworkStats, type BlkioStats, type InterfaceStats } from './io-stats.js';
import { runCommand } from '@berth/subprocess';

/**
 * Resource usage of a container, read from its cgroup v1 controllers
 * (`/sys/fs/cgroup/<controller>/berth/<id>`).
 */
export interface ContainerStats {
  /** When the figures were read (RFC3339). */
  read: string;
  cpu: {
    /** cpuacct.usage: total CPU time of the container, ns. */
    totalNs: number;
    /** cpuacct.usage_percpu, ns per CPU. */
    perCpuNs: number[];
    /** The host's total CPU time from /proc/stat, ns (Docker's `system_cpu_usage`, for percentages). */
    systemNs: number;
    onlineCpus: number;
    /** cpuacct.stat `user` and `system`, in ns (Docker's usage_in_usermode / usage_in_kernelmode). */
    userNs: number;
    kernelNs: number;
    /** cpu.stat: CFS periods, throttled periods and throttled time (ns). */
    throttling: { periods: number; throttledPeriods: number; throttledTimeNs: number };
  };
  memory: {
    /** memory.usage_in_bytes minus the page cache (`total_cache`), what `docker stats` shows. */
    usage: number;
    /** memory.usage_in_bytes as the kernel reports it. */
    rawUsage: number;
    maxUsage: number;
    /** memory.limit_in_bytes, or the host's memory when unlimited. */
    limit: number;
    /** memory.stat as numbers (`cache`, `rss`, `total_inactive_file`, ...). */
    stat: Record<string, number>;
  };
  pids: { current: number; limit?: number };
  /** Block I/O from the blkio controller, read as runc reads it. */
  blkio: BlkioStats;
  /** Counters of the container's interfaces (its network namespace), by name; undefined with the host's network. */
  networks?: Record<string, InterfaceStats>;
}

const cgroupRoot = '/sys/fs/cgroup';

/** The directory of one controller for a cgroups path such as `/berth/<id>`. */
export function cgroupDir(controller: string, cgroupsPath: string): string {
  if (controller === 'cpuacct' && !existsSync(join(cgroupRoot, 'cpuacct'))) controller = 'cpu,cpuacct';
  return join(cgroupRoot, controller, cgroupsPath);
}

async function readNumber(file: string): Promise<number> {
  return Number((await readFile(file, 'utf8')).trim());
}

export async function readStats(id: string, cgroupsPath = `/berth/${id}`): Promise<ContainerStats> {
  const memDir = cgroupDir('memory', cgroupsPath);
  if (!existsSync(memDir)) {
    if (!existsSync(join(cgroupRoot, 'memory'))) throw new InternalError('Cannot read container stats: cgroup v1 memory controller not mounted');
    throw new NotFoundError(`No such container: ${id}`);
  }
  const cpuDir = cgroupDir('cpuacct', cgroupsPath);
  const pidsDir = cgroupDir('pids', cgroupsPath);
  const stat = await readKeyed(join(memDir, 'memory.stat'));
  const rawUsage = await readNumber(join(memDir, 'memory.usage_in_bytes'));
  const cpuacct = await readKeyed(join(cpuDir, 'cpuacct.stat'));
  const cfs = await readKeyed(join(cgroupDir('cpu', cgroupsPath), 'cpu.stat'));
  const pid = (await containerPids(id, cgroupsPath).catch(() => []))[0];
  const limit = await readNumber(join(memDir, 'memory.limit_in_bytes'));
  const pidsMax = (await readFile(join(pidsDir, 'pids.max'), 'utf8')).trim();
  return {
    read: new Date().toISOString(),
    cpu: {
      totalNs: await readNumber(join(cpuDir, 'cpuacct.usage')),
      perCpuNs: (await readFile(join(cpuDir, 'cpuacct.usage_percpu'), 'utf8')).trim().split(/\s+/).map(Number),
      systemNs: await systemCpuNs(),
      onlineCpus: availableParallelism(),
      // cpuacct.stat counts USER_HZ (100) ticks.
      userNs: (cpuacct.user ?? 0) * 10_000_000,
      kernelNs: (cpuacct.system ?? 0) * 10_000_000,
      throttling: { periods: cfs.nr_periods ?? 0, throttledPeriods: cfs.nr_throttled ?? 0, throttledTimeNs: cfs.throttled_time ?? 0 },
    },
    memory: {
      usage: Math.max(0, rawUsage - (stat.total_cache ?? stat.cache ?? 0)),
      rawUsage,
      maxUsage: await readNumber(join(memDir, 'memory.max_usage_in_bytes')),
      limit: Math.min(limit, totalmem()),
      stat,
    },
    pids: {
      current: await readNumber(join(pidsDir, 'pids.current')),
      ...(pidsMax === 'max' ? {} : { limit: Number(pidsMax) }),
    },
    blkio: await readBlkioStats(cgroupDir('blkio', cgroupsPath)),
    networks: pid === undefined ? undefined : await readNetworkStats(pid),
  };
}

/** A `key value` per line file (cpuacct.stat, cpu.stat) as numbers; empty when missing. */
async function readKeyed(file: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      const [k, v] = line.split(' ');
      if (k && v) out[k] = Number(v);
    }
  } catch {
    // Not offered by this kernel: the figures stay 0, as Docker shows them then.
  }
  return out;
}

/** Sum of the first 7 fields of /proc/stat's `cpu` line (USER_HZ = 100 on Linux), in ns. */
async function systemCpuNs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const ticks = line.trim().split(/\s+/).slice(1, 8).map(Number);
  return ticks.reduce((a, b) => a + b, 0) * 10_000_000;
}

/** The pids of a container's processes (cgroup.procs of its pids controller). */
export async function containerPids(id: string, cgroupsPath = `/berth/${id}`): Promise<number[]> {
  try {
    const text = await readFile(join(cgroupDir('pids', cgroupsPath), 'cgroup.procs'), 'utf8');
    return text.split('\n').filter(Boolean).map(Number);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`No such container: ${id}`);
    throw err;
  }
}

/** Docker's `ContainerTopOKBody`. */
export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/**
 * Runs the host's `ps` (default `-ef`: UID PID PPID C STIME TTY TIME CMD, Docker's columns) and keeps the
 * rows of the container's pids, as dockerd does. Rows are split into as many fields as titles, the
 * last one keeping its spaces.
 */
export async function topProcesses(id: string, psArgs: string[] = ['-ef'], cgroupsPath?: string): Promise<TopResult> {
  const pids = new Set(await containerPids(id, cgroupsPath));
  const res = await runCommand('ps', psArgs, { timeoutMs: 30_000 });
  if (res.code !== 0) throw new InternalError(`Cannot run "ps ${psArgs.join(' ')}": ${res.stderr.toString().trim()}`);
  const lines = res.stdout.toString().split('\n').filter((l) => l.trim() !== '');
  const titles = lines[0]!.trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new InternalError(`Cannot find the PID column in the output of "ps ${psArgs.join(' ')}"`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = splitFields(line, titles.length);
    if (pids.has(Number(fields[pidIndex]))) processes.push(fields);
  }
  return { Titles: titles, Processes: processes };
}

function splitFields(line: string, count: number): string[] {
  const out: string[] = [];
  let rest = line.trim();
  while (out.length < count - 1 && rest !== '') {
    const m = /^(\S+)\s*/.exec(rest)!;
    out.push(m[1]!);
    rest = rest.slice(m[0].length);
  }
  out.push(rest);
  return out;
}
