import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '@berth/errors';
import { rlimitNames, type SpecOptions } from '@berth/runtime';
import type { HostConfig, ResourceOptions } from './types.js';

/**
 * The resources of a container (`--memory`, `--memory-swap`, `--memory-reservation`, `--cpus`,
 * `--cpu-shares`, `--cpuset-cpus`, `--pids-limit`, `--oom-kill-disable`, `--ulimit`): the daemon's
 * checks with Docker's messages (daemon/daemon_unix.go `verifyPlatformContainerResources`), the
 * HostConfig fields they are recorded as, and the runtime spec options they become. `update` uses
 * the same checks on the merged values.
 */

const minMemory = 6 * 1024 * 1024;

/** Checks resources as Docker's daemon does. @returns Docker's warnings (the request still goes on). */
export function checkResources(r: ResourceOptions, options: { update?: boolean } = {}): string[] {
  const warnings: string[] = [];
  const memory = r.memory ?? 0;
  const swap = r.memorySwap ?? 0;
  const reservation = r.memoryReservation ?? 0;
  if (memory !== 0 && memory < minMemory) throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
  if (memory > 0 && swap > 0 && swap < memory) {
    throw new InvalidArgumentError('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (memory === 0 && swap > 0 && !options.update) {
    throw new InvalidArgumentError('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (reservation > 0 && reservation < minMemory) throw new InvalidArgumentError('Minimum memory reservation allowed is 6MB');
  if (memory > 0 && reservation > 0 && memory < reservation) {
    throw new InvalidArgumentError('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (r.oomKillDisable && memory === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }
  const nanoCpus = r.nanoCpus ?? 0;
  const ncpu = availableParallelism();
  if (nanoCpus < 0 || nanoCpus > ncpu * 1e9) {
    throw new InvalidArgumentError(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  if ((r.cpuShares ?? 0) < 0) throw new InvalidArgumentError(`invalid CPU shares (${r.cpuShares}): value must be a positive integer`);
  if (r.cpusetCpus) checkCpuset(r.cpusetCpus, ncpu);
  for (const u of r.ulimits ?? []) {
    if (!(u.Name in rlimitNames)) throw new InvalidArgumentError(`invalid ulimit type: ${u.Name}`);
    if (u.Hard !== -1 && u.Soft > u.Hard) {
      throw new InvalidArgumentError(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    }
  }
  return warnings;
}

/** Docker's cpuset checks: `0-2,4`, each CPU present on this host. */
function checkCpuset(list: string, ncpu: number): void {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) throw new InvalidArgumentError(`Invalid value ${list} for cpuset cpus`);
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) cpus.push(c);
  }
  if (cpus.some((c) => c >= ncpu)) {
    throw new InvalidArgumentError(`Requested CPUs are not available - requested ${list}, available: ${ncpu === 1 ? '0' : `0-${ncpu - 1}`}`);
  }
}

/** The HostConfig fields of the resources, with Docker's defaults (MemorySwap twice Memory). */
export function resourceHostConfig(r: ResourceOptions): Pick<
  HostConfig,
  'Memory' | 'NanoCpus' | 'PidsLimit' | 'MemorySwap' | 'MemoryReservation' | 'CpuShares' | 'CpusetCpus' | 'OomKillDisable' | 'Ulimits' | 'Devices'
> {
  const memory = r.memory ?? 0;
  const swap = r.memorySwap ?? 0;
  return {
    Memory: memory,
    NanoCpus: r.nanoCpus ?? 0,
    PidsLimit: r.pidsLimit ?? null,
    // Docker's daemon: no --memory-swap with --memory means as much swap as memory.
    MemorySwap: swap === 0 && memory > 0 ? memory * 2 : swap,
    MemoryReservation: r.memoryReservation ?? 0,
    CpuShares: r.cpuShares ?? 0,
    CpusetCpus: r.cpusetCpus ?? '',
    OomKillDisable: r.oomKillDisable ?? false,
    Ulimits: r.ulimits?.length ? r.ulimits : null,
    Devices: r.devices ?? [],
  };
}

/** The runtime spec's limits for a recorded HostConfig (records from before these fields: none). */
export function resourceSpecOptions(host: HostConfig): Pick<
  SpecOptions,
  'memory' | 'memorySwap' | 'memoryReservation' | 'cpus' | 'cpuShares' | 'cpusetCpus' | 'pidsLimit' | 'oomKillDisable' | 'ulimits'
> {
  const swap = host.MemorySwap ?? 0;
  return {
    ...(host.Memory > 0 ? { memory: host.Memory } : {}),
    // OCI: swap is memory + swap (-1 unlimited); a record without it keeps the old "no swap".
    ...(host.Memory > 0 && swap !== 0 ? { memorySwap: swap } : {}),
    ...(host.MemoryReservation ? { memoryReservation: host.MemoryReservation } : {}),
    ...(host.NanoCpus > 0 ? { cpus: host.NanoCpus / 1e9 } : {}),
    ...(host.CpuShares ? { cpuShares: host.CpuShares } : {}),
    ...(host.CpusetCpus ? { cpusetCpus: host.CpusetCpus } : {}),
    ...(host.PidsLimit ? { pidsLimit: host.PidsLimit } : {}),
    ...(host.OomKillDisable ? { oomKillDisable: true } : {}),
    ...(host.Ulimits?.length ? { ulimits: host.Ulimits.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard === -1 ? Infinity : u.Hard })) } : {}),
  };
}
