import { truncateId } from './row-contexts.js';
import { headerContext } from './table-format.js';
import { FieldContext } from './template.js';
import { bytesSize, humanSizeWithPrecision } from './units.js';

/**
 * `docker stats` figures from Docker's stats JSON (ContainerStatsResponse), computed as the docker
 * CLI does (cli/command/container/stats_helpers.go): CPU % from the cpu/precpu deltas, memory
 * without the inactive page cache, network and block I/O summed over interfaces and devices.
 */

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface DockerStatsJson {
  id?: string;
  name?: string;
  read?: string;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
  pids_stats?: { current?: number };
}

export interface StatsEntry {
  id: string;
  name: string;
  cpuPercentage: number;
  memory: number;
  memoryLimit: number;
  memoryPercentage: number;
  networkRx: number;
  networkTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
  /** The stats could not be read: docker shows `--` in the figures' columns. */
  invalid: boolean;
}

export function calculateCpuPercent(s: DockerStatsJson): number {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  let online = s.cpu_stats?.online_cpus ?? 0;
  if (online === 0) online = s.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

/** calculateMemUsageUnixNoCache: usage minus inactive file pages (cgroup v1 total_inactive_file, v2 inactive_file). */
export function memoryUsageNoCache(mem: NonNullable<DockerStatsJson['memory_stats']>): number {
  const usage = mem.usage ?? 0;
  const stats = mem.stats ?? {};
  const v1 = stats.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = stats.inactive_file;
  if (v2 !== undefined && v2 < usage) return usage - v2;
  return usage;
}

export function statsEntry(s: DockerStatsJson, fallback: { id: string; name: string }): StatsEntry {
  const memory = memoryUsageNoCache(s.memory_stats ?? {});
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const net of Object.values(s.networks ?? {})) {
    rx += net.rx_bytes ?? 0;
    tx += net.tx_bytes ?? 0;
  }
  let read = 0;
  let write = 0;
  for (const entry of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op.toLowerCase();
    if (op === 'read') read += entry.value;
    else if (op === 'write') write += entry.value;
  }
  return {
    id: s.id || fallback.id,
    name: (s.name || fallback.name).replace(/^\//, ''),
    cpuPercentage: calculateCpuPercent(s),
    memory,
    memoryLimit: limit,
    memoryPercentage: limit !== 0 ? (memory / limit) * 100 : 0,
    networkRx: rx,
    networkTx: tx,
    blockRead: read,
    blockWrite: write,
    pids: s.pids_stats?.current ?? 0,
    invalid: false,
  };
}

export const statsDefaultTable =
  'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export const statsHeader = headerContext('*formatter.statsContext', [['ID', 'CONTAINER ID'], 'Container', 'Name', ['CPUPerc', 'CPU %'], ['MemUsage', 'MEM USAGE / LIMIT'], ['MemPerc', 'MEM %'], ['NetIO', 'NET I/O'], ['BlockIO', 'BLOCK I/O'], 'PIDs']);

export function statsRow(e: StatsEntry, options: { trunc: boolean; container?: string }): FieldContext {
  const dash = (value: () => string) => () => (e.invalid ? '--' : value());
  return new FieldContext('*formatter.statsContext', {
    ID: () => (options.trunc ? truncateId(e.id) : e.id),
    Container: () => options.container ?? e.name,
    Name: () => (e.name ? e.name : '--'),
    CPUPerc: dash(() => `${e.cpuPercentage.toFixed(2)}%`),
    MemUsage: dash(() => `${bytesSize(e.memory)} / ${bytesSize(e.memoryLimit)}`),
    MemPerc: dash(() => `${e.memoryPercentage.toFixed(2)}%`),
    NetIO: dash(() => `${humanSizeWithPrecision(e.networkRx, 3)} / ${humanSizeWithPrecision(e.networkTx, 3)}`),
    BlockIO: dash(() => `${humanSizeWithPrecision(e.blockRead, 3)} / ${humanSizeWithPrecision(e.blockWrite, 3)}`),
    PIDs: dash(() => String(e.pids)),
  });
}
