import { ConflictError, InvalidArgumentError, isBerthError, errorOfKind, messageOf } from '@berth/errors';
import { resourceLimits, type RuntimeUpdate } from '@berth/runtime';
import { checkRestartPolicy } from './config-merge.js';
import type { ContainerContext } from './container-context.js';
import { RestartManager } from './restart-manager.js';
import { checkResources, resourceSpecOptions } from './resource-options.js';
import type { HostConfig, RestartPolicyName } from './types.js';

/** What `docker update` may change; an absent field stays as it is. */
export interface UpdateOptions {
  memory?: number;
  /** -1 unlimited. */
  memorySwap?: number;
  memoryReservation?: number;
  nanoCpus?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  /** 0 or -1: unlimited. */
  pidsLimit?: number;
  restartPolicy?: { name: RestartPolicyName | ''; maximumRetryCount?: number };
}

/**
 * `docker update` on one container, under its lock: merges the changes into the recorded
 * HostConfig with Docker's rules (container/container_unix.go `UpdateContainer`), checks the result
 * as at create, applies the limits to the running container's cgroup (`runc update`), and only then
 * saves the record, so a refused change changes nothing. A running container's restart policy takes
 * effect at its next exit. InvalidArgumentError `Cannot update container <id>: …` with Docker's
 * reasons. @returns Docker's warnings.
 */
export async function updateContainer(
  ctx: ContainerContext,
  runtime: RuntimeUpdate,
  idOrName: string,
  update: UpdateOptions,
): Promise<string[]> {
  const id = ctx.resolve(idOrName);
  return ctx.locks.run(id, async () => {
    const rec = ctx.mustGet(id);
    const cannot = (reason: string) => new InvalidArgumentError(`Cannot update container ${rec.Id}: ${reason}`);
    if (rec.State.Status === 'removing' || rec.State.Dead) {
      throw new ConflictError(`Container is marked for removal and cannot be "update"`);
    }
    const host = mergeResources(rec.HostConfig, update, cannot);
    let warnings: string[];
    try {
      warnings = checkResources(
        {
          memory: host.Memory,
          memorySwap: host.MemorySwap,
          memoryReservation: host.MemoryReservation,
          nanoCpus: host.NanoCpus,
          cpuShares: host.CpuShares,
          cpusetCpus: host.CpusetCpus,
        },
        { update: true },
      );
    } catch (err) {
      throw cannot(messageOf(err));
    }
    if (update.restartPolicy && update.restartPolicy.name !== '') {
      if (rec.HostConfig.AutoRemove && update.restartPolicy.name !== 'no') {
        throw cannot('Restart policy cannot be updated because AutoRemove is enabled for the container');
      }
      host.RestartPolicy = checkRestartPolicy({ restartPolicy: update.restartPolicy });
    }
    if (rec.State.Running && !rec.State.Restarting && touchesLimits(update)) {
      try {
        const limits = resourceSpecOptions(host);
        // An unlimited pids count is absent from the spec options, but must reach the cgroup.
        if (update.pidsLimit !== undefined && !host.PidsLimit) limits.pidsLimit = -1;
        await runtime.update(rec.Id, resourceLimits(limits));
      } catch (err) {
        throw isBerthError(err) ? errorOfKind(err.kind, `Cannot update container ${rec.Id}: ${err.message}`, { cause: err }) : err;
      }
    }
    const policyChanged = host.RestartPolicy !== rec.HostConfig.RestartPolicy;
    rec.HostConfig = host;
    ctx.store.save(rec);
    if (policyChanged) ctx.live.of(rec).restart = new RestartManager(host.RestartPolicy);
    return warnings;
  });
}

function touchesLimits(u: UpdateOptions): boolean {
  return [u.memory, u.memorySwap, u.memoryReservation, u.nanoCpus, u.cpuShares, u.cpusetCpus, u.pidsLimit].some((v) => v !== undefined);
}

/** Docker's merge: a new memory limit above the recorded swap needs a new swap too. */
function mergeResources(current: HostConfig, u: UpdateOptions, cannot: (reason: string) => Error): HostConfig {
  const host: HostConfig = { ...current };
  if (u.memory !== undefined && u.memory !== 0) {
    const swap = current.MemorySwap ?? 0;
    if (swap > 0 && u.memory > swap && (u.memorySwap ?? 0) === 0) {
      throw cannot('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    host.Memory = u.memory;
  }
  if (u.memorySwap !== undefined && u.memorySwap !== 0) host.MemorySwap = u.memorySwap;
  if (u.memoryReservation !== undefined && u.memoryReservation !== 0) host.MemoryReservation = u.memoryReservation;
  if (u.nanoCpus !== undefined && u.nanoCpus !== 0) host.NanoCpus = u.nanoCpus;
  if (u.cpuShares !== undefined && u.cpuShares !== 0) host.CpuShares = u.cpuShares;
  if (u.cpusetCpus !== undefined && u.cpusetCpus !== '') host.CpusetCpus = u.cpusetCpus;
  // Docker: 0 leaves it, -1 (or any negative) lifts the limit.
  if (u.pidsLimit !== undefined && u.pidsLimit !== 0) host.PidsLimit = u.pidsLimit < 0 ? 0 : u.pidsLimit;
  return host;
}
