/**
 * Docker's ContainerStatsResponse (cgroup v1 flavour), the object `docker stats` does its math on:
 * CPU % = Δcpu_usage.total_usage / Δsystem_cpu_usage × online_cpus × 100, memory = usage minus
 * stats.total_inactive_file, over limit.
 */
import type { BlkioEntry, ContainerStats, InterfaceStats } from '@berth/runtime';

export interface DockerStats {
  id: string;
  name: string;
  read: string;
  preread: string;
  pids_stats: { current: number; limit?: number };
  blkio_stats: Record<string, BlkioJsonEntry[] | null>;
  /** Per interface of the container's network namespace; absent without one (host network, stopped). */
  networks?: Record<string, InterfaceCounters>;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; limit?: number; stats?: Record<string, number> };
}

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

/** Docker's blkio entry: the runtime's parsed line as it is. */
export type BlkioJsonEntry = BlkioEntry;

/** Docker's NetworkStats of one interface: the runtime's /proc/net/dev counters as they are. */
export type InterfaceCounters = InterfaceStats;

const zeroTime = '0001-01-01T00:00:00Z';

function cpuStats(sample: ContainerStats | undefined): CpuStats {
  if (sample === undefined) {
    return {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    };
  }
  return {
    cpu_usage: {
      total_usage: sample.cpu.totalNs,
      percpu_usage: sample.cpu.perCpuNs,
      usage_in_kernelmode: sample.cpu.kernelNs,
      usage_in_usermode: sample.cpu.userNs,
    },
    system_cpu_usage: sample.cpu.systemNs,
    online_cpus: sample.cpu.onlineCpus,
    throttling_data: {
      periods: sample.cpu.throttling.periods,
      throttled_periods: sample.cpu.throttling.throttledPeriods,
      throttled_time: sample.cpu.throttling.throttledTimeNs,
    },
  };
}

/** Builds the Docker object from the runtime's current cgroup sample and the previous one (zeros when none). */
export function toDockerStats(id: string, name: string, current: ContainerStats, previous?: ContainerStats): DockerStats {
  return {
    id,
    name,
    read: current.read,
    preread: previous?.read ?? zeroTime,
    pids_stats: current.pids,
    // Block I/O and network counters as the daemon copies them from runc's figures.
    blkio_stats: {
      io_service_bytes_recursive: current.blkio.ioServiceBytes,
      io_serviced_recursive: current.blkio.ioServiced,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    ...(current.networks ? { networks: current.networks } : {}),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(current),
    precpu_stats: cpuStats(previous),
    memory_stats: {
      usage: current.memory.rawUsage,
      max_usage: current.memory.maxUsage,
      stats: current.memory.stat,
      limit: current.memory.limit,
    },
  };
}

/** A stopped container's stats: Docker answers with zeroed figures. */
export function emptyDockerStats(id: string, name: string): DockerStats {
  return {
    id,
    name,
    read: zeroTime,
    preread: zeroTime,
    pids_stats: { current: 0 },
    blkio_stats: {},
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(undefined),
    precpu_stats: cpuStats(undefined),
    memory_stats: {},
  };
}
